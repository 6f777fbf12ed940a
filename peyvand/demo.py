"""Demo data: ~300 made-up contacts, half Persian, half English, loaded through contacts.actions.

Deterministic (seeded) and idempotent: every person is keyed by their e-mail/mobile, so a
second run updates nothing and creates nothing. Some input is deliberately messy (Arabic
ي/ك, Persian digits, odd phone formats, upper-case e-mails) to show normalisation at work.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.dates import persian_digits
from peyvand.contacts.actions import do_add_note, do_upsert_contact
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import Contact, CustomField, Note

SEED = 1403
DEMO_SOURCE = "demo"
SHOP_SOURCE = "woocommerce:demo"
DEMO_SOURCES = frozenset({DEMO_SOURCE, SHOP_SOURCE})
OWNER_NAME = "owner"

_FA_FIRST = [("علی", "ali"), ("محمد", "mohammad"), ("حسین", "hossein"), ("رضا", "reza"),
             ("مهدی", "mahdi"), ("امیر", "amir"), ("سارا", "sara"), ("مریم", "maryam"),
             ("فاطمه", "fatemeh"), ("زهرا", "zahra"), ("نیلوفر", "niloufar"),
             ("پریسا", "parisa"), ("کیان", "kian"), ("آرش", "arash"), ("شیرین", "shirin"),
             ("الهام", "elham"), ("یاسمن", "yasaman"), ("کامران", "kamran"),
             ("بهاره", "bahareh"), ("مهسا", "mahsa"), ("نگار", "negar"), ("سینا", "sina"),
             ("یوسف", "yousef"), ("کوروش", "kourosh")]
_FA_LAST = [("محمدی", "mohammadi"), ("حسینی", "hosseini"), ("احمدی", "ahmadi"),
            ("رضایی", "rezaei"), ("کریمی", "karimi"), ("موسوی", "mousavi"),
            ("جعفری", "jafari"), ("صادقی", "sadeghi"), ("کاظمی", "kazemi"),
            ("یزدانی", "yazdani"), ("نیک‌پور", "nikpour"), ("تهرانی", "tehrani"),
            ("شریفی", "sharifi"), ("قاسمی", "ghasemi"), ("ملکی", "maleki"),
            ("اکبری", "akbari"), ("کیانی", "kiani"), ("رحیمی", "rahimi")]
_EN_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia",
             "Ethan", "Amelia", "Henry", "Grace", "Jack", "Chloe", "Leo", "Ella", "Oscar",
             "Ruby", "Daniel"]
_EN_LAST = ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas",
            "Clarke", "Walker", "Wright", "Hughes", "Green", "Hall", "Wood", "Baker"]
_MOBILE_PREFIXES = ["912", "913", "915", "917", "919", "910", "935", "936", "937", "938",
                    "939", "901", "902", "903", "921", "922", "990"]
_DOMAINS = ["example.com", "example.org", "example.net"]
_EN_ZONES = ["Europe/London", "America/Toronto", "Europe/Berlin", "Australia/Sydney",
             "Asia/Tehran"]

TAGS = ["VIP", "مشتری عمده", "newsletter", "خبرنامه", "مشتری وفادار", "Instagram", "حضوری",
        "first-order"]
FA_CITIES = ["تهران", "اصفهان", "شیراز", "مشهد", "تبریز", "رشت"]
EN_CITIES = ["London", "Toronto", "Berlin"]
FIELDS: list[dict[str, Any]] = [
    {"key": "city", "label_fa": "شهر", "label_en": "City", "type": "choice",
     "choices": FA_CITIES + EN_CITIES},
    {"key": "postal_code", "label_fa": "کد پستی", "label_en": "Postal code", "type": "text"},
    {"key": "shoe_size", "label_fa": "سایز کفش", "label_en": "Shoe size", "type": "number"},
    {"key": "last_visit", "label_fa": "آخرین مراجعه", "label_en": "Last visit", "type": "date"},
    {"key": "wholesale", "label_fa": "عمده‌فروش", "label_en": "Wholesale", "type": "boolean"},
]
_FA_NOTES = ["سفارش تلفنی داد؛ ارسال با پست پیشتاز.", "پیگیری مرجوعی سایز ۴۲ انجام شد.",
             "علاقه‌مند به خرید عمده برای فروشگاه در شهرستان.",
             "درخواست فاکتور رسمی با کد اقتصادی.", "از طریق اینستاگرام با ما آشنا شد."]
_EN_NOTES = ["Asked about international shipping to Canada.",
             "Prefers e-mail over phone calls.", "Returned an order: wrong size, refunded.",
             "Interested in the wholesale price list."]
_ARABIC = str.maketrans({"ی": "ي", "ک": "ك"})


@dataclass
class DemoSummary:
    created: int = 0
    existing: int = 0
    notes: int = 0
    orders: int = 0
    signups: int = 0


def _national_id(rng: random.Random) -> str:
    while True:
        body = [rng.randint(0, 9) for _ in range(9)]
        if len(set(body)) > 1:
            break
    r = sum(d * (10 - i) for i, d in enumerate(body)) % 11
    return "".join(map(str, body)) + str(r if r < 2 else 11 - r)


def _jalali(rng: random.Random, years: tuple[int, int]) -> str:
    return f"{rng.randint(*years)}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}"


def demo_people(count: int = 300) -> list[dict[str, Any]]:
    """The raw input for `count` people; the same list on every call."""
    rng = random.Random(SEED)
    phones: set[str] = set()

    def mobile() -> str:
        while True:
            number = "0" + rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 9999999):07d}"
            if number not in phones:
                phones.add(number)
                return number

    people = []
    for i in range(count):
        persian = i % 2 == 0
        raw: dict[str, Any] = {"source": DEMO_SOURCE, "fields": {}, "tags": []}
        if persian:
            (first, first_lat), (last, last_lat) = rng.choice(_FA_FIRST), rng.choice(_FA_LAST)
            if i % 7 == 0:  # typed on an Arabic keyboard: stored with Persian ی/ک
                first, last = first.translate(_ARABIC), last.translate(_ARABIC)
            phone = mobile()
            if i % 6 == 0:
                phone = persian_digits(phone)
            elif i % 10 == 4:
                phone = f"+98 {phone[1:4]} {phone[4:7]} {phone[7:]}"
            raw.update(first_name=first, last_name=last, language="fa", timezone="Asia/Tehran",
                       phone=phone)
            if rng.random() < 0.5:
                raw["email"] = f"{first_lat}.{last_lat}{i}@{rng.choice(_DOMAINS)}"
            if rng.random() < 0.3:
                raw["national_id"] = _national_id(rng)
            if rng.random() < 0.4:
                birthday = _jalali(rng, (1340, 1382))
                raw["birthday"] = persian_digits(birthday) if i % 4 == 0 else birthday
        else:
            first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
            email = f"{first}.{last}{i}@{rng.choice(_DOMAINS)}"
            raw.update(first_name=first, last_name=last, language="en",
                       timezone=rng.choice(_EN_ZONES),
                       emails=[email if i % 9 else email.upper()])
            if rng.random() < 0.3:
                raw["phone"] = mobile()
            if rng.random() < 0.1:  # a second address
                raw["emails"].append(f"{first[0]}{last}{i}@work.{rng.choice(_DOMAINS)}".lower())
            if rng.random() < 0.4:
                raw["birthday"] = (dt.date(1960, 1, 1)
                                   + dt.timedelta(days=rng.randint(0, 16000))).isoformat()
        if i % 12 == 5:
            raw["source"] = SHOP_SOURCE
            raw["external_ids"] = [{"source": SHOP_SOURCE, "id": f"wc-{1000 + i}"}]
        raw["tags"] = sorted(rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2, 3])))
        fields = raw["fields"]
        if rng.random() < 0.7:
            fields["city"] = rng.choice(FA_CITIES if persian else EN_CITIES)
        if persian and rng.random() < 0.4:
            code = f"{rng.randint(1000000000, 9999999999)}"
            fields["postal_code"] = persian_digits(code) if i % 3 == 0 else code
        if rng.random() < 0.5:
            size = rng.randint(72, 92) / 2
            text = f"{size:g}"
            fields["shoe_size"] = persian_digits(text) if persian and i % 5 == 0 else text
        if rng.random() < 0.5:
            if persian:
                fields["last_visit"] = _jalali(rng, (1402, 1403))
            else:
                fields["last_visit"] = (dt.date(2023, 3, 21)
                                        + dt.timedelta(days=rng.randint(0, 700))).isoformat()
        wholesale = "مشتری عمده" in raw["tags"]
        if wholesale or rng.random() < 0.3:
            fields["wholesale"] = ("بله" if wholesale else "خیر") if persian else wholesale
        raw["notes"] = ([rng.choice(_FA_NOTES if persian else _EN_NOTES)]
                        if i % 20 == 3 else [])
        people.append(raw)
    return people


def _usable_fields(actor: Actor) -> set[str]:
    """Create the demo fields that are missing; skip any the owner defined differently."""
    usable = set()
    for spec in FIELDS:
        existing = CustomField.objects.filter(key=spec["key"]).first()
        if existing is None:
            do_save_custom_field(actor, **spec)
        elif existing.type != spec["type"] or not set(spec.get("choices", [])) <= set(
                existing.choices):
            continue
        usable.add(spec["key"])
    return usable


def load_demo(count: int = 300) -> DemoSummary:
    actor = Actor.system("demo")
    # People and orders commit first: each order's buyer is refreshed after it commits, which
    # costs little before the shop's first full refresh (nothing to place them in yet) and
    # a model fit per buyer after it. The full refresh then places everyone at once.
    summary = _load_demo_people_and_shop(actor, count)
    with transaction.atomic():
        # The insights pages start filled in, rather than waiting for the nightly refresh.
        from peyvand.insights.actions import refresh_all

        refresh_all(actor)
        load_demo_segments(actor)
        from peyvand.campaigns.demo import load_demo_campaign

        load_demo_campaign(actor, segment_name=DEMO_SEGMENTS[0][0])
    return summary


@transaction.atomic
def _load_demo_people_and_shop(actor: Actor, count: int) -> DemoSummary:
    usable = _usable_fields(actor)
    summary = DemoSummary()
    for raw in demo_people(count):
        notes = raw.pop("notes")
        raw["fields"] = {k: v for k, v in raw["fields"].items() if k in usable}
        result = do_upsert_contact(actor, raw)
        if result.created:
            summary.created += 1
        else:
            summary.existing += 1
        for body in notes:
            if not Note.objects.filter(contact=result.contact, body=body).exists():
                do_add_note(actor, result.contact, body)
                summary.notes += 1
    summary.orders = load_demo_shop(actor, count)
    load_demo_form(actor)
    summary.signups = load_demo_consent()
    return summary


# Segments a shop starts from (docs/subsystems/audiences.md): win-back, birthdays, best
# customers who read e-mail. Names in both languages, as the demo's owner may read either.
DEMO_SEGMENTS = [
    ("بازگرداندن مشتریان · Win-back", {"all": [
        {"field": "orders.count", "op": "gte", "value": 2},
        {"field": "orders.last_at", "op": "not_within_last", "value": {"days": 90}},
        {"not": {"field": "insights.tier", "op": "eq", "value": "most_valuable"}}]}),
    ("تولد در هفتهٔ پیش رو · Birthdays this week", {
        "field": "contact.birthday", "op": "within_next", "value": {"days": 7}}),
    ("بهترین مشتریان ایمیلی · Best customers on e-mail", {"all": [
        {"field": "insights.tier", "op": "eq", "value": "most_valuable"},
        {"field": "consent.email", "op": "eq", "value": "in"}]}),
]


def load_demo_segments(actor: Actor) -> None:
    """The demo's segments, made once and counted (their first refresh is the baseline)."""
    from peyvand.audiences.actions import do_create_segment, refresh_segment
    from peyvand.audiences.models import Segment

    for name, rules in DEMO_SEGMENTS:
        if not Segment.objects.filter(name=name).exists():
            refresh_segment(do_create_segment(actor, name, rules))


# (sku, name_fa, name_en, category, price in toman); products listed in pairs that are often
# bought together, so the cross-sell and pyramid pages have something real to find.
PRODUCTS = [
    ("TEA-1", "چای سیاه لاهیجان", "Lahijan black tea", "tea", 180_000),
    ("CUP-1", "استکان کمرباریک", "Tea glass set", "tableware", 240_000),
    ("SAF-1", "زعفران یک مثقالی", "Saffron, 4.6 g", "spices", 950_000),
    ("NAB-1", "نبات زعفرانی", "Saffron rock candy", "sweets", 120_000),
    ("PST-1", "پسته اکبری", "Akbari pistachios", "nuts", 1_400_000),
    ("GAZ-1", "گز اصفهان", "Isfahan gaz nougat", "sweets", 380_000),
    ("RUG-1", "گلیم دستباف", "Handwoven kilim", "home", 6_500_000),
    ("CSH-1", "کوسن سنتی", "Traditional cushion", "home", 450_000),
    ("BOK-1", "دیوان حافظ", "Divan of Hafez", "books", 520_000),
    ("BMK-1", "نشانگر کتاب خاتم", "Khatam bookmark", "books", 90_000),
]
_COMPANION = {0: 1, 2: 3, 4: 5, 6: 7, 8: 9}


def demo_orders(contact_ids: list[int], count: int) -> list[dict[str, Any]]:
    """Two years of orders: most people buy once or never, a few buy often (the pyramid)."""
    rng = random.Random(SEED + 1)
    today = dt.date(2026, 11, 1)
    orders: list[dict[str, Any]] = []
    for i, contact_id in enumerate(contact_ids[:count]):
        if rng.random() < 0.3:
            continue
        n = min(12, int(rng.paretovariate(1.3)))
        start = today - dt.timedelta(days=rng.randint(30, 720))
        for k in range(n):
            placed = start + dt.timedelta(days=k * rng.randint(20, 90))
            if placed > today:
                break
            first = rng.randrange(len(PRODUCTS))
            picks = [first]
            if first in _COMPANION and rng.random() < 0.6:
                picks.append(_COMPANION[first])
            elif rng.random() < 0.2:
                picks.append(rng.randrange(len(PRODUCTS)))
            lines = [{"sku": PRODUCTS[p][0], "name": PRODUCTS[p][2],
                      "quantity": rng.choice([1, 1, 1, 2]), "unit_price": PRODUCTS[p][4]}
                     for p in dict.fromkeys(picks)]
            status = "cancelled" if rng.random() < 0.05 else "completed"
            order: dict[str, Any] = {
                "source": DEMO_SOURCE, "external_id": f"demo-{i}-{k}",
                "number": f"{1000 + len(orders)}",
                "contact_id": contact_id, "currency": "IRT", "status": status,
                "placed_at": dt.datetime.combine(placed, dt.time(11, 0), tzinfo=dt.UTC).isoformat(),
                "channel": "web", "shipping": 60_000 if rng.random() < 0.5 else 0, "lines": lines,
            }
            if status == "completed" and rng.random() < 0.04:
                order["refunds"] = [{"id": f"r-{i}-{k}", "amount": PRODUCTS[first][4],
                                     "reason": "damaged in delivery"}]
            orders.append(order)
    return orders


def load_demo_shop(actor: Actor, count: int) -> int:
    """Products and orders for the demo contacts; upserts, so running it again changes nothing."""
    from peyvand.commerce.actions import do_upsert_order, do_upsert_product

    for sku, name_fa, name_en, category, price in PRODUCTS:
        do_upsert_product(actor, {"sku": sku, "name_fa": name_fa, "name_en": name_en,
                                  "category": category, "price": price,
                                  "cost": price * 6 // 10, "currency": "IRT"})
    ids = list(Contact.objects.live().filter(source__in=[DEMO_SOURCE, SHOP_SOURCE])
               .order_by("pk").values_list("pk", flat=True))
    created = 0
    for order in demo_orders(ids, count):
        created += do_upsert_order(actor, order).created
    return created


DEMO_FORM = {
    "slug": "newsletter", "name": "Newsletter", "title_fa": "خبرنامهٔ فروشگاه",
    "title_en": "Shop newsletter", "identity": "either", "ask_first_name": True,
    "channels": ["email", "sms"],
    "incentive_kind": "save", "incentive_fa": "۱۰٪ تخفیف خرید بعدی",
    "incentive_en": "10% off your next order",
    "consent_text_fa": "می‌خواهم پیام‌هایی را که برگزیدم دریافت کنم؛ هر زمان بخواهم لغو می‌کنم.",
    "consent_text_en": "I want to receive the messages I chose; I can leave at any time."}


def load_demo_form(actor: Actor) -> None:
    """A sign-up form (/consent/f/newsletter/) whose confirmations land in caught mail."""
    from peyvand.consent.actions import do_save_form
    from peyvand.consent.models import SignupForm, Topic

    # The topics seeded by the consent migration (news, offers, …), as far as they are active.
    topics = list(Topic.objects.filter(active=True).order_by("position", "id")
                  .values_list("key", flat=True)[:2])
    if topics and not SignupForm.objects.filter(slug=DEMO_FORM["slug"]).exists():
        do_save_form(actor, {**DEMO_FORM, "topics": topics})


def load_demo_consent() -> int:
    """Three in four demo people signed up through the demo form some time in the past two
    years (e-mail, and for some SMS, one or two topics) and nearly all confirmed; the rest
    never signed up. A demo broadcast then reaches caught mail, and the gate still has people
    to refuse. Returns the sign-ups recorded (none on a second run)."""
    from peyvand.consent.demo import seed_signup
    from peyvand.consent.models import SignupForm
    from peyvand.contacts.models import Identity

    form = SignupForm.objects.filter(slug=DEMO_FORM["slug"]).first()
    if form is None:
        return 0
    topics = list(form.topics.order_by("position", "id"))
    rng = random.Random(SEED + 1)
    now = timezone.now()
    people = list(Contact.objects.live().filter(source__in=DEMO_SOURCES).order_by("pk"))
    kinds: dict[int, set[str]] = {}
    for contact_id, kind in Identity.objects.filter(contact__in=people).values_list(
            "contact_id", "kind"):
        kinds.setdefault(contact_id, set()).add(kind)
    recorded = 0
    for contact in people:
        has = kinds.get(contact.pk, set())
        roll, sms_roll, confirm_roll = rng.random(), rng.random(), rng.random()
        chosen = rng.sample(topics, min(len(topics), rng.choice([1, 2])))
        at = now - dt.timedelta(days=rng.randint(2, 730), minutes=rng.randint(0, 1439))
        channels = (["email"] if Identity.Kind.EMAIL in has else []) + (
            ["sms"] if Identity.Kind.PHONE in has and sms_roll < 0.4 else [])
        if roll >= 0.75 or not channels:
            continue
        confirmed = None if confirm_roll < 0.08 else dt.timedelta(minutes=rng.randint(1, 240))
        recorded += seed_signup(form, contact, demo_sources=DEMO_SOURCES, channels=channels,
                                topics=chosen, language=contact.language or "fa", at=at,
                                confirmed_after=confirmed) is not None
    return recorded


def ensure_demo_owner() -> str | None:
    """Create the `owner` account with a random password; None when it exists already."""
    from peyvand.accounts.actions import do_create_user

    if get_user_model().objects.filter(username__iexact=OWNER_NAME).exists():
        return None
    password = secrets.token_urlsafe(12)
    do_create_user(Actor.operator(), OWNER_NAME, role="owner", password=password,
                   language="fa")
    return password
