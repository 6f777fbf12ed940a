"""Every page, in Persian, as the owner sees it: no Latin digit in Persian text and no raw
message key (`messaging.broadcast_created`, `read=5`). Values that are Latin by nature
(phones, e-mails, SKUs, codes, URLs) stand in <bdi>, <code> or a dir="ltr" element and are
not checked. Pages and the world come from the UI role matrix."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.models import Job
from peyvand.commerce.actions import do_upsert_order
from peyvand.contacts.actions import do_create_contact
from peyvand.insights.actions import refresh_all
from tests.faces.test_ui_role_matrix import MATRIX, ROUTES, url_for, users, world  # noqa: F401

pytestmark = pytest.mark.django_db

# Elements whose text is Latin by nature, or not text at all.
SKIP = {"bdi", "code", "pre", "script", "style", "textarea", "kbd", "samp", "svg", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
LATIN_DIGIT = re.compile(r"[0-9]")
# Persian numbers take «٪», «٫» and «٬»: a Latin %, point or comma beside a digit is wrong.
LATIN_MARK = re.compile(r"[۰-۹]%|%[۰-۹]|[۰-۹][.,][۰-۹]")
# An e-mail, a URL or a path is left to <bdi>; if one is bare it is not a number's fault.
LATIN_WORD = re.compile(r"\S*[@/:]\S*|#[0-9a-f]{6}\b")
RAW_KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z]+_[a-z_]+\b|\b[a-z_]+=\d+")
# Pages that are not Persian prose: a downloaded file, an e-mail as it was caught.
NOT_PROSE = {"base:job_download", "mailcatcher:detail", "mailcatcher:raw",
             "accounts:logout", "base:export_contacts"}


class TextNodes(HTMLParser):
    """Text nodes outside SKIP elements and outside dir="ltr" ones."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        skipped = tag in SKIP or dict(attrs).get("dir") == "ltr" or \
            "mono" in (dict(attrs).get("class") or "").split()
        self.stack.append((tag, skipped))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if data.strip() and not any(skipped for _, skipped in self.stack):
            self.texts.append(" ".join(data.split()))


def problems(html: str) -> list[str]:
    parser = TextNodes()
    parser.feed(html)
    found = []
    for text in parser.texts:
        bare = LATIN_WORD.sub("", text)
        if LATIN_DIGIT.search(bare):
            found.append(f"digit: {text}")
        if LATIN_MARK.search(bare):
            found.append(f"mark: {text}")
        if RAW_KEY.search(text):
            found.append(f"key: {text}")
    return found


def test_the_checker_sees_what_it_should():
    html = ('<p>۲۰٪ و 5 سفارش</p><bdi>+98 915</bdi><code>a.b_c</code>'
            '<p dir="ltr">x1</p><p>messaging.broadcast_created read=5</p>'
            '<p>a@b2.com https://x/1</p><p>۲۰% و ۱.۵ و ۱٫۵ و ۱٬۰۰۰</p>')
    assert problems(html) == ["digit: ۲۰٪ و 5 سفارش",
                              "digit: messaging.broadcast_created read=5",
                              "key: messaging.broadcast_created read=5",
                              "mark: ۲۰% و ۱.۵ و ۱٫۵ و ۱٬۰۰۰"]


@pytest.fixture(scope="module")
def history(world):  # noqa: F811
    """What the audit and jobs pages show once work has been done: counts, progress."""
    system = Actor.system("test")
    record_audit(system, "orders.import", target_type="order", summary="read=5 created=3")
    record_audit(system, "messaging.broadcast_created", target_type="broadcast",
                 target_id=world["broadcasts"], summary="hello → vip")
    Job.objects.create(kind="orders.import", status=Job.Status.RUNNING, progress=20, total=52)
    Job.objects.create(kind="insights.refresh", status=Job.Status.DONE, progress=1234)
    # Customers with a purchase history, so the insights and order pages show their numbers.
    for n, (who, days) in enumerate([("a", (400, 300, 200, 100, 20)), ("b", (350, 40)),
                                     ("c", (90,))]):
        person = do_create_contact(system, {"email": f"{who}@example.com",
                                            "first_name": who.upper()})
        for i, ago in enumerate(days):
            do_upsert_order(system, {
                "source": "api", "external_id": f"h-{n}-{i}", "contact_id": str(person.pk),
                "currency": "IRR", "placed_at": (timezone.now() - dt.timedelta(days=ago))
                .isoformat(), "lines": [{"sku": f"SKU-{i % 2}", "quantity": "2",
                                         "unit_price": "1250000"}]})
    refresh_all(system)
    return world


@pytest.fixture
def owner(users):  # noqa: F811
    client = Client()
    client.force_login(users["owner"])
    return client


@pytest.mark.parametrize("name", sorted(n for n in MATRIX if n not in NOT_PROSE))
def test_every_page_in_persian_has_persian_digits(history, owner, name):
    url = url_for(name, history, 0)
    response = owner.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        pytest.skip(f"{url}: {response.status_code}, not a page to read")
    found = problems(response.content.decode())
    assert not found, f"{url}: {found}"


@pytest.mark.parametrize("name", sorted(n for n in MATRIX if n not in NOT_PROSE))
def test_every_page_in_english_has_no_persian_comma(history, users, owner, name):  # noqa: F811
    # The signed-in user's own language decides the page (rolled back with the test).
    users["owner"].profile.language = "en"
    users["owner"].profile.save(update_fields=["language"])
    owner.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = url_for(name, history, 0)
    response = owner.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        pytest.skip(f"{url}: {response.status_code}, not a page to read")
    parser = TextNodes()
    parser.feed(response.content.decode())
    found = [t for t in parser.texts if "،" in t or "٪" in t]
    assert not found, f"{url}: {found}"
