from __future__ import annotations

import time

import pytest

from peyvand.base.signing import make_token
from peyvand.consent import ledger
from peyvand.consent.actions import do_save_form
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, Source, Topic
from peyvand.contacts.actions import do_create_contact

ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]
TOPICS = [("news", "اخبار", "News", "monthly", True),
          ("products", "محصولات تازه", "New products", "monthly", False),
          ("offers", "پیشنهادها", "Offers", "weekly", False),
          ("events", "رویدادها", "Events", "monthly", False)]


@pytest.fixture(autouse=True)
def _fast_and_clean(settings):
    # Users are made in most tests; rate-limit counters live in the cache.
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CONSENT_MIN_FILL_SECONDS = 3
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def topics(db) -> dict[str, Topic]:
    """The seeded topics (a transactional test elsewhere may have flushed the seed)."""
    out = {}
    for position, (key, fa, en, frequency, default) in enumerate(TOPICS):
        out[key], _created = Topic.objects.get_or_create(key=key, defaults={
            "name_fa": fa, "name_en": en, "default_frequency": frequency,
            "default_opt_in": default, "position": position})
    return out


@pytest.fixture
def signup_form(system, topics):
    return do_save_form(system, {
        "slug": "spring", "name": "Spring", "title_fa": "خبرنامهٔ بهار",
        "title_en": "Spring newsletter", "identity": "either", "ask_first_name": True,
        "channels": ["email", "sms"], "topics": ["news", "offers"],
        "incentive_kind": "save", "incentive_fa": "۱۰٪ تخفیف خرید اول",
        "incentive_en": "10% off your first order",
        "consent_text_fa": "می‌خواهم پیام‌هایی را که برگزیدم دریافت کنم.",
        "consent_text_en": "I want to receive the messages I chose."})


@pytest.fixture
def started():
    """A signed start time `ago` seconds in the past, as the hosted page embeds it."""

    def make(form, ago: float = 10) -> str:
        return make_token("signup_started", {"f": form.slug, "t": time.time() - ago})

    return make


@pytest.fixture
def person(system):
    counter = iter(range(10_000))

    def make(**raw):
        n = next(counter)
        raw.setdefault("first_name", f"Person{n}")
        if "email" not in raw and "phone" not in raw:
            raw["email"] = f"person{n}@example.com"
        return do_create_contact(system, raw)

    return make


@pytest.fixture
def subscribe(topics):
    """Give a contact confirmed consent on channels and topics, as a form + confirm would."""

    def make(contact, channels=("email",), topic_keys=("news",), frequency=None):
        changes = []
        for channel in channels:
            changes.append(Change(Action.OPT_IN, channel, None,
                                  {"format": "html"} if channel == "email" else {}))
            for key in topic_keys:
                changes.append(Change(Action.OPT_IN, channel, topics[key].pk,
                                      {"frequency": frequency or topics[key].default_frequency}))
        ledger.append(contact, changes, source=Source.FORM, actor_label="test")
        ledger.append(contact, [Change(Action.CONFIRM, c, None) for c in channels],
                      source=Source.FORM, actor_label="test")
        return contact

    return make
