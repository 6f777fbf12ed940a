"""Messaging pages in fa and en: templates, preview, broadcasts and approval, outbox, rules."""

from __future__ import annotations

import re

from peyvand.messaging.models import Broadcast, MessageTemplate, OutboxMessage, StrategyRule


def test_template_edit_shows_line_numbered_errors_and_saves(client_for):
    ui = client_for("marketer")
    r = ui.post("/messaging/templates/new/", {"name": "t", "language": "en", "channel": "email",
                                              "message_class": "marketing", "subject": "Hi",
                                              "html": "<p>a</p>\n{{ x.__class__ }}"})
    assert r.status_code == 200
    assert "line 2:" in r.content.decode()
    r = ui.post("/messaging/templates/new/", {"name": "t", "language": "fa", "channel": "email",
                                              "message_class": "marketing", "subject": "سلام",
                                              "html": "<p>{{ first_name }}</p>"})
    assert r.status_code == 302
    assert MessageTemplate.objects.get(name="t").language == "fa"
    page = ui.get("/messaging/templates/").content.decode()
    assert 'data-template="' in page
    assert client_for("analyst").get("/messaging/templates/new/").status_code == 403


def test_preview_with_a_contact_in_persian(client_for, make_contact, template):
    contact = make_contact(first_name="مریم")
    t = template("p", html="<style>p{color:red}</style><p>سلام {{ first_name }}</p>")
    ui = client_for("owner", "fa")
    page = ui.get(f"/messaging/templates/{t.pk}/preview/?contact={contact.pk}").content.decode()
    assert 'lang="fa"' in page and "سلام مریم" in page
    assert "color:red" in page.replace(" ", "")  # CSS inlined into the element
    assert 'dir=&quot;rtl&quot;' in page  # the RTL wrapper, inside the sandboxed srcdoc


def test_broadcast_approval_in_the_ui(client_for, make_contact, template):
    make_contact(tags=["vip"])
    template("promo")
    r = client_for("marketer").post("/messaging/broadcasts/", {"template": "promo", "tag": "vip",
                                                               "class": "marketing"})
    item = Broadcast.objects.get()
    assert r.status_code == 302 and item.status == "awaiting_approval"
    reviewer = client_for("reviewer")
    page = reviewer.get(f"/messaging/broadcasts/{item.pk}/").content.decode()
    assert 'id="approve"' in page
    assert 'id="approve"' not in client_for("analyst").get(
        f"/messaging/broadcasts/{item.pk}/").content.decode()
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page).group(1)
    reviewer.post(f"/messaging/broadcasts/{item.pk}/approve/", {"digest": digest})
    item.refresh_from_db()
    assert item.status == "queued" and item.approved_by == "reviewer-ui"
    page = reviewer.get(f"/messaging/broadcasts/{item.pk}/").content.decode()
    assert 'role="progressbar"' in page and 'data-state="queued"' in page
    assert '<dd id="broadcast-status">Sending</dd>' in page  # rows still wait
    OutboxMessage.objects.update(state="failed", gate_verdict="deny", gate_reason="no_consent",
                                 gate_text="Denied: no consent on this channel.")
    rows = reviewer.get(f"/messaging/broadcasts/{item.pk}/outbox/?state=failed").content.decode()
    assert "Denied: no consent on this channel." in rows
    page = reviewer.get(f"/messaging/broadcasts/{item.pk}/").content.decode()
    # Nothing waits any more, and nothing reached anyone: never "Finished" (issue 17).
    assert re.search(r'<dd id="broadcast-status">Failed: none of \d+ sent</dd>', page)
    listing = reviewer.get("/messaging/broadcasts/")
    assert listing.status_code == 200 and "Finished" not in listing.content.decode()
    assert re.search(r'class="badge red">Failed: none of \d+ sent<', listing.content.decode())


def test_rules_page_adds_and_validates(client_for):
    ui = client_for("owner", "fa")
    assert ui.get("/messaging/rules/").status_code == 200
    r = ui.post("/messaging/rules/", {"kind": "cap", "channel": "email", "max_count": "x",
                                      "period_hours": "24"})
    assert r.status_code == 200 and 'class="field-error"' in r.content.decode()
    r = ui.post("/messaging/rules/", {"kind": "cap", "channel": "email", "max_count": "3",
                                      "period_hours": "168"})
    assert r.status_code == 302
    assert StrategyRule.objects.filter(kind="cap", max_count=3).exists()
    assert client_for("analyst").post("/messaging/rules/", {"kind": "spacing",
                                                            "spacing_minutes": "5"}
                                      ).status_code == 403


def test_settings_page_is_for_the_owner(client_for):
    ui = client_for("owner")
    r = ui.post("/messaging/settings/", {"smtp_url": "ftp://x", "connections": "5",
                                         "rate_per_second": "0", "domain_rate_per_second": "0"})
    assert "smtp://" in r.content.decode()
    r = ui.post("/messaging/settings/", {"smtp_url": "smtp://u:p@mail.example:587?starttls=1",
                                         "connections": "5", "rate_per_second": "20",
                                         "domain_rate_per_second": "2"})
    assert r.status_code == 302
    from peyvand.messaging.smtp import smtp_config

    config = smtp_config()
    assert (config.host, config.port, config.start_tls, config.connections, config.rate) == \
        ("mail.example", 587, True, 5, 20)
    assert client_for("marketer").get("/messaging/settings/").status_code == 403


def test_every_page_renders_in_persian(client_for, make_contact, template, owner_actor):
    from peyvand.messaging.actions import do_create_broadcast

    make_contact(tags=["vip"])
    t = template("promo")
    item = do_create_broadcast(owner_actor, t, "vip")
    OutboxMessage.objects.update(resent_after_crash=True)
    StrategyRule.objects.create(kind="spacing", spacing_minutes=30)
    ui = client_for("owner", "fa")
    for url in ("/messaging/templates/", f"/messaging/templates/{t.pk}/",
                f"/messaging/templates/{t.pk}/preview/", "/messaging/broadcasts/",
                f"/messaging/broadcasts/{item.pk}/", f"/messaging/broadcasts/{item.pk}/outbox/",
                "/messaging/rules/", "/messaging/settings/"):
        r = ui.get(url)
        assert r.status_code == 200, url
        assert 'lang="fa"' in r.content.decode()
    page = ui.get(f"/messaging/broadcasts/{item.pk}/").content.decode()
    assert "ارسال گروهی" in page or "Broadcast" in page
    assert "۳۰" in ui.get("/messaging/rules/").content.decode()  # Persian digits
