"""One person run through everything Peyvand keeps, for the erasure and export tests.

An import file (one of its rows rejected), a second contact merged into them, orders by API
and by WooCommerce webhook (one delivery failing before its customer is known), a cart, a
sign-up with its confirmation, an e-mail broadcast and an SMS broadcast sent and caught, an
open and a click through the tracking fast path and the spool, a bounce, notes, fields and
tags, exports written as CSV, XLSX and JSON, and a staged upload in UTF-16 nobody imported.

`put_everywhere` runs in the test database (tests/contacts/test_erasure_leaves_no_copy.py)
and, through `python -m tests.contacts.everywhere HOME`, in a real SQLite file under a real
PEYVAND_HOME. Side effects queued on commit run where `committing()` says (a capture in
tests, at once in autocommit).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADDRESS = "erase-me-7f3a@example.com"
OLD_ADDRESS = "erase-me-old-7f3a@example.com"  # the contact merged into them
MOBILE = "+989127773311"
NATIONAL_ID = "0499370899"
OTHER = "keep-me-5b2c@example.com"  # someone else, who must stay
# Every form the person may be found in, and the encodings looked for in bytes.
NEEDLES = (ADDRESS, OLD_ADDRESS, MOBILE, "09127773311", "9127773311", NATIONAL_ID,
           "0912 777 3311", "۰۹۱۲ ۷۷۷ ۳۳۱۱")  # the last two as typed in the files
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")
SAMPLES = Path(__file__).resolve().parents[1] / "tracking" / "samples"

HTML = ('<p>سلام {{ first_name }}</p>'
        '<p><a href="https://shop.example/account?u={{ email }}" data-topic="account">حساب</a></p>'
        '<p><a href="{{ unsubscribe_url }}">لغو</a></p>')


def found_in(data: bytes) -> list[str]:
    """The needles `data` holds, in any of ENCODINGS (case-insensitive)."""
    lower = data.lower()
    return [n for n in NEEDLES for enc in ENCODINGS if n.encode(enc).lower() in lower]


@dataclass
class Person:
    contact_id: int
    other_id: int  # the live contact who shares the files
    export_jobs: list[int]
    import_job: int
    counts: dict[str, int]


def counts() -> dict[str, int]:
    """Rows an erasure keeps (anonymous statistics): they must not change."""
    from peyvand.commerce.models import Order
    from peyvand.consent.models import ConsentChange
    from peyvand.messaging.models import OutboxMessage
    from peyvand.tracking.models import TrackingEvent

    return {"orders": Order.objects.count(), "messages": OutboxMessage.objects.count(),
            "ledger": ConsentChange.objects.count(), "events": TrackingEvent.objects.count()}


def _deliver_to_catcher() -> list[email.message.EmailMessage]:
    """Run the sender into a sink and keep what arrived as the catcher does."""
    from peyvand.mailcatcher.server import store
    from peyvand.messaging.sender import Sender
    from peyvand.messaging.smtp import SmtpConfig
    from tests.messaging.sink import start_sink

    controller, handler = start_sink()
    try:
        Sender(config=SmtpConfig(host="127.0.0.1", port=controller.port,
                                 from_address="shop@example.com", from_name="Shop",
                                 connections=1)).run()
    finally:
        controller.stop()
    for mail_from, rcpts, data in handler.received:
        store(data, mail_from, rcpts)
    return [email.message_from_bytes(data, policy=email.policy.default)
            for _f, _r, data in handler.received]


def _tracking_hits(messages: list[email.message.EmailMessage]) -> None:
    from django.db.models import F

    from peyvand.tracking.events import drain_spool
    from peyvand.tracking.fastpath import wrap

    def django(environ, start_response):  # nothing reaches Django on a tracking path
        start_response("404 Not Found", [])
        return [b""]

    # They read it an hour later (a hit right after sending is a machine's).
    from peyvand.messaging.models import OutboxMessage

    OutboxMessage.objects.exclude(sent_at=None).update(
        sent_at=F("sent_at") - dt.timedelta(hours=1))
    app = wrap(django)
    paths = []
    for message in messages:
        html = message.get_body(("html",))
        if html is not None:
            text = html.get_content()
            paths += re.findall(r"/t/o/[^\"'<>\s]+\.gif", text)
            paths += [p for p in re.findall(r"/t/c/[^\"'<>\s]+", text)]
    assert paths, (list(OutboxMessage.objects.values("to_address", "state", "gate_reason",
                                                     "channel", "source")),
                   [str(m["To"]) for m in messages])
    for path in paths:
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET",
                   "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
        b"".join(app(environ, lambda status, headers: None))
    drain_spool()


def put_everywhere(owner, committing: Callable[[], AbstractContextManager[Any]]) -> Person:
    from django.conf import settings

    from peyvand.base.actor import Actor
    from peyvand.base.signing import make_token
    from peyvand.commerce.actions import do_create_source, do_upsert_cart, do_upsert_order
    from peyvand.commerce.models import WebhookDelivery
    from peyvand.commerce.woocommerce import process_delivery, receive
    from peyvand.consent.actions import (
        SignupRequest,
        do_confirm_email,
        do_save_form,
        do_submit_signup,
    )
    from peyvand.consent.ledger import Change, append
    from peyvand.contacts.actions import (
        do_add_note,
        do_create_contact,
        do_merge_contacts,
        do_update_contact,
    )
    from peyvand.contacts.export import do_start_export_job
    from peyvand.contacts.fields import do_save_custom_field
    from peyvand.contacts.models import Contact, Identity
    from peyvand.imports.contacts import do_start_import_job
    from peyvand.imports.uploads import stage_upload
    from peyvand.messaging.actions import do_create_broadcast
    from peyvand.messaging.models import MessageTemplate, StrategyRule
    from peyvand.tracking.bounces import process_report

    system = Actor.system("test")
    do_save_custom_field(system, key="city", label_fa="شهر", label_en="City", type="text")

    # An import file named after them; one row is rejected and lands in the report.
    rows = ("first_name,last_name,email,mobile,national_id,city\n"
            f"Erasa,Testova,{ADDRESS.upper()},0912 777 3311,{NATIONAL_ID},Tabriz\n"
            f"Keep,Me,{OTHER},,,Shiraz\n"
            "Erasa,Again,not-an-email,۰۹۱۲ ۷۷۷ ۳۳۱۱,,\n")
    staged = stage_upload([rows.encode("utf-8")], f"{ADDRESS}.csv", owner.user.pk)
    with committing():
        job = do_start_import_job(owner, staged.path, staged.filename,
                                  ["first_name", "last_name", "email", "phone", "national_id",
                                   "fields.city"])
    job.refresh_from_db()
    assert job.status == "done", (job.status, job.error, job.result)
    from peyvand.imports.contacts import report_path_for

    assert Contact.objects.filter(identities__value=ADDRESS).exists(), \
        report_path_for(job).read_text()
    person = Contact.objects.get(identities__value=ADDRESS)
    other = Contact.objects.get(identities__value=OTHER)
    # Another upload, in UTF-16, waiting to be mapped: nobody imported it.
    stage_upload([f"email,mobile\n{ADDRESS},09127773311\n".encode("utf-16")], "later.csv",
                 owner.user.pk)

    # A second contact of theirs, merged into them: the audit entry keeps its snapshot.
    old = do_create_contact(owner, {"first_name": "Erasa", "email": OLD_ADDRESS,
                                    "birthday": "1370/01/01"})
    do_merge_contacts(owner, person, [old])
    do_update_contact(owner, person, {"tags": ["vip", "news"]})
    do_add_note(owner, person, f"Called from {MOBILE} about {ADDRESS}")

    # Orders: one through the API (with a refund), one from the shop by webhook, one
    # delivery failing before its customer is known; and a cart.
    do_upsert_order(owner, {
        "source": "pos", "external_id": "E-1", "number": "E-1", "status": "completed",
        "placed_at": "2024-05-01T10:00:00+03:30", "currency": "IRT",
        "customer": {"email": ADDRESS},
        "lines": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": "250000"}],
        "refunds": [{"id": "R-1", "amount": "250000", "reason": f"asked by {ADDRESS}",
                     "at": "2024-05-03T10:00:00+03:30"}]})
    shop = do_create_source(owner, "woocommerce", "myshop", "IRT")
    billing = {"first_name": "Erasa", "last_name": "Testova", "email": ADDRESS.title(),
               "phone": "۰۹۱۲ ۷۷۷ ۳۳۱۱", "city": "Tabriz"}
    order = {"id": 901, "number": "901", "status": "processing", "currency": "IRT",
             "date_created_gmt": "2024-06-01T10:00:00", "total": "1000000.00",
             "customer_id": 44, "billing": billing,
             "line_items": [{"id": 1, "name": "Tee", "product_id": 94, "quantity": 1,
                             "subtotal": "1000000.00", "total": "1000000.00", "sku": "TEE-1",
                             "price": 1000000}], "refunds": []}
    for delivery_id, payload in (("w1", order), ("w2", {**order, "id": 902,
                                                        "date_created_gmt": "yesterday"})):
        delivery = receive(shop, json.dumps(payload, ensure_ascii=False).encode(),
                           {"X-WC-Webhook-Topic": "order.created",
                            "X-WC-Webhook-Delivery-ID": delivery_id}).delivery
        process_delivery(delivery.pk)
    assert WebhookDelivery.objects.filter(status="failed", contact=None).count() == 1
    do_upsert_cart(owner, {"source": "pos", "external_id": "C-1", "currency": "IRT",
                           "customer": {"email": ADDRESS}, "status": "abandoned",
                           "lines": [{"sku": "TEE-1", "name": "Tee", "quantity": 1,
                                      "unit_price": "1000000"}]})

    # A sign-up through a form, from a browser: IP and user agent in the ledger; the
    # confirmation goes out with the broadcasts below.
    from peyvand.consent.models import Topic

    Topic.objects.get_or_create(key="news", defaults={"name_fa": "اخبار", "name_en": "News"})
    form = do_save_form(system, {
        "slug": "spring", "name": "Spring", "title_fa": "بهار", "title_en": "Spring",
        "identity": "either", "channels": ["email", "sms"], "topics": ["news"],
        "consent_text_fa": "می‌خواهم.", "consent_text_en": "I want to."})
    with committing():
        do_submit_signup(form, {"email": ADDRESS, "channels": ["email"], "topics": ["news"]},
                         SignupRequest(
            ip="203.0.113.77", user_agent="ErasaBrowser/1.0", language="en",
            started=make_token("signup_started", {"f": form.slug, "t": time.time() - 30}),
            link_base="https://crm.example"))
    confirmation = _deliver_to_catcher()[0].get_body(("plain",)).get_content()
    token = re.search(r"/consent/c/([^/\s]+)/", confirmation).group(1)
    do_confirm_email(token, ip="203.0.113.78", user_agent="ErasaBrowser/1.0")
    append(person.pk, [Change("opt_in", "sms", None), Change("confirm", "sms", None)],
           source="staff", actor_label="test")

    # Broadcasts by e-mail (a link that carries their address) and by SMS, caught; their
    # open and click travel the fast path and the spool.
    # Whatever the hour the test runs at: no quiet hours holding the SMS back.
    StrategyRule.objects.filter(kind=StrategyRule.Kind.QUIET).update(active=False)
    MessageTemplate.objects.create(name="hello", subject="Hi {{ first_name }}", html=HTML,
                                   message_class="marketing", language="en")
    MessageTemplate.objects.create(name="sms", channel="sms", text="Hi {{ first_name }}",
                                   message_class="marketing")
    with committing():
        do_create_broadcast(owner, "hello", "vip")
        do_create_broadcast(owner, "sms", "vip")
    messages = _deliver_to_catcher()
    _tracking_hits([m for m in messages if ADDRESS in str(m["To"])])

    # The mail bounced afterwards (found by its address, as without VERP).
    raw = (SAMPLES / "postfix_hard.eml").read_bytes().replace(b"sara@example.com",
                                                               ADDRESS.encode())
    process_report(raw.replace(b"{VERP}", b"postmaster@shop.example")
                   .replace(b"{MSGID}", b"20240504.abc@shop.example"), source="test")

    # Exports of everyone, as the jobs page writes them.
    exports = []
    with committing():
        for fmt in ("csv", "xlsx", "json"):
            exports.append(do_start_export_job(owner, fmt).pk)
    assert Identity.objects.filter(contact=person, value=ADDRESS).exists()
    assert Path(settings.EXPORT_DIR).is_dir()
    return Person(person.pk, other.pk, exports, job.pk, counts())


def holders(data_dir: Path) -> dict[str, list[str]]:
    """Every file under `data_dir` that holds a needle, with the needles it holds (an XLSX
    file's sheets read unzipped)."""
    found = {}
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as book:
                data += b"".join(book.read(name) for name in book.namelist())
        hits = found_in(data)
        if hits:
            found[str(path.relative_to(data_dir))] = sorted(set(hits))
    return found


def main(home: str) -> int:
    """In a fresh PEYVAND_HOME: migrate, put the person everywhere, erase them; print what
    held them before the erasure (JSON) for the test to compare with."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.MESSAGING_AUTOSEND = False  # the scenario runs the sender itself, into a sink

    call_command("migrate", verbosity=0)
    from peyvand.accounts.actions import do_create_user
    from peyvand.base.actor import Actor
    from peyvand.contacts.actions import do_erase_contact
    from peyvand.contacts.models import Contact

    user = do_create_user(Actor.system("test"), "owner", role="owner",
                          password="Correct-Horse-42", language="en")
    owner = Actor.for_user(user, "ui")
    person = put_everywhere(owner, contextlib.nullcontext)
    before = holders(Path(home))
    do_erase_contact(owner, Contact.objects.get(pk=person.contact_id))
    print(json.dumps({"before": before, "person": person.contact_id,
                      "other": person.other_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
