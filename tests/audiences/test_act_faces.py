"""The faces of bulk actions: the confirm page and its form, the contact list's checkboxes and
"select all N matching", the insights lists' bar, the segment page's include, and the CLI
command bodies (their wiring into `peyvand segments` is the lead's)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re

import pytest

from peyvand.audiences import broadcast_audience, bulk
from peyvand.audiences.actions import do_create_segment
from peyvand.audiences.cli_actions import cmd_export, cmd_tag
from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry, Job
from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import ContactTag
from peyvand.messaging.models import Broadcast, MessageTemplate
from tests.messaging.conftest import opt

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
VIP = {"field": "contact.tags", "op": "has", "value": "vip"}


@pytest.fixture(autouse=True)
def wired(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.PEYVAND_PUBLIC_URL = "https://crm.example"
    broadcast_audience.register()
    bulk.register()


@pytest.fixture
def shop(db):
    made = {}
    for name, tags in (("sara", ["vip"]), ("reza", ["vip"]), ("omid", [])):
        made[name] = do_create_contact(SYSTEM, {"first_name": name, "tags": tags,
                                                "email": f"{name}@example.com"})
        opt(made[name].pk, "email")
    made["segment"] = do_create_segment(SYSTEM, "VIPs", VIP)
    MessageTemplate.objects.create(
        name="autumn", language="fa", subject="سلام", message_class="marketing",
        html='<p>سلام</p><p><a href="{{ unsubscribe_url }}">لغو</a></p>')
    return made


def tagged(name: str) -> set[int]:
    return set(ContactTag.objects.filter(tag__name=name).values_list("contact_id", flat=True))


@pytest.mark.parametrize("language,summary", [
    ("en", "This will tag 2 people"), ("fa", 'lang="fa"')])
def test_confirm_page_counts_then_starts_the_job(shop, client_for, language, summary,
                                                 django_capture_on_commit_callbacks):
    browser = client_for("marketer", language)
    asked = {"target": "segment", "segment": shop["segment"].pk, "action": "tag",
             "tag": "winter"}
    page = browser.get("/segments/act/", asked)
    html = page.content.decode()
    assert page.status_code == 200 and 'data-count="2"' in html and summary in html
    assert not Job.objects.exists()  # asking is not acting
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post("/segments/act/", {**asked, "confirm": "1"})
    job = Job.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/jobs/#job-{job.pk}"
    assert tagged("winter") == {shop["sara"].pk, shop["reza"].pk}
    jobs = browser.get("/jobs/").content.decode()
    assert f'id="job-{job.pk}"' in jobs


def test_confirm_page_refuses_roles_and_bad_input(shop, client_for):
    assert client_for("analyst").get("/segments/act/", {
        "target": "segment", "segment": shop["segment"].pk, "action": "tag",
        "tag": "x"}).status_code == 403
    owner = client_for("owner")
    bad = owner.post("/segments/act/", {"target": "segment", "segment": 999, "action": "tag",
                                        "tag": "x", "confirm": "1"})
    assert bad.status_code == 400 and 'data-error="segment"' in bad.content.decode()
    assert not Job.objects.exists()


def test_broadcast_confirm_shows_the_gate_refusals_before_sending(shop, client_for,
                                                                  django_capture_on_commit_callbacks):
    from peyvand.consent.ledger import Change, append

    append(shop["reza"].pk, [Change("opt_out", "email", None)], source="preferences",
           actor_label="test")
    browser = client_for("marketer")
    asked = {"target": "segment", "segment": shop["segment"].pk, "action": "broadcast"}
    first = browser.get("/segments/act/", asked).content.decode()
    assert 'id="act-template"' in first and 'id="act-go"' not in first  # choose, count first
    template = MessageTemplate.objects.get(name="autumn")
    counted = browser.get("/segments/act/", {**asked, "template": template.pk}).content.decode()
    assert 'data-count="2" data-refused="1"' in counted and 'data-reason="opted_out"' in counted
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/segments/act/", {**asked, "template": template.pk, "confirm": "1"})
    item = Broadcast.objects.get()
    assert item.status == "awaiting_approval"
    assert item.audience_spec == {"segments": [shop["segment"].pk]}


@pytest.mark.parametrize("language", ["en", "fa"])
def test_contact_list_has_checkboxes_and_select_all_matching(shop, client_for, language):
    browser = client_for("owner", language)
    html = browser.get("/contacts/", {"q": "sara", "tag": "vip"}).content.decode()
    assert 'data-select-all="contact-bulk"' in html
    assert f'name="ids" value="{shop["sara"].pk}" form="contact-bulk"' in html
    form = re.search(r'<form method="get" action="/segments/act/" id="contact-bulk".*?</form>',
                     html, re.S).group(0)
    # "All N matching" carries the search, so the act page acts on the same people.
    assert '<input type="hidden" name="q" value="sara">' in form
    assert '<input type="hidden" name="tag_filter" value="vip">' in form
    assert 'name="target" value="search"' in form and 'name="target" value="contacts"' in form
    assert 'value="export"' in form  # the owner may export
    confirm = browser.get("/segments/act/", {"target": "search", "q": "sara",
                                             "tag_filter": "vip", "action": "tag",
                                             "tag": "w"})
    assert 'data-count="1"' in confirm.content.decode()


def test_contact_list_hides_the_bar_from_roles_that_may_not_act(shop, client_for):
    html = client_for("support").get("/contacts/").content.decode()
    assert 'id="contact-bulk"' not in html and 'name="ids"' not in html
    marketer = client_for("marketer").get("/contacts/").content.decode()
    assert 'id="contact-bulk"' in marketer and 'value="export"' not in marketer


def test_ticked_contacts_post_as_contacts(shop, client_for, django_capture_on_commit_callbacks):
    browser = client_for("owner")
    ids = [shop["sara"].pk, shop["omid"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/segments/act/", {"target": "contacts", "ids": ids, "action": "tag",
                                        "tag": "picked", "confirm": "1"})
    assert tagged("picked") == set(ids)


def test_insights_lists_offer_the_bar_with_their_rule(shop, client_for):
    from peyvand.audiences.actions_views import _insights_rule
    from peyvand.insights.models import CustomerMetrics

    CustomerMetrics.objects.create(contact=shop["sara"], value_tier="most_valuable",
                                   due_status="due", currency="IRR",
                                   as_of=dt.date.today())
    browser = client_for("owner")
    html = browser.get("/insights/customers/", {"tier": "most_valuable"}).content.decode()
    assert 'name="insights_tier" value="most_valuable"' in html and 'value="insights"' in html
    assert f'name="ids" value="{shop["sara"].pk}" form="insights-bulk"' in html
    due = browser.get("/insights/due/").content.decode()
    assert 'name="insights_list" value="due"' in due and 'form="insights-bulk"' in due
    from django.http import QueryDict

    assert _insights_rule(QueryDict("insights_tier=most_valuable")) == {
        "all": [{"field": "insights.tier", "op": "eq", "value": "most_valuable"}]}
    confirm = browser.get("/segments/act/", {"target": "insights", "insights_tier": "most_valuable",
                                             "action": "tag", "tag": "w"})
    assert 'data-count="1"' in confirm.content.decode()
    confirm = browser.get("/segments/act/", {"target": "insights", "insights_list": "due",
                                             "action": "tag", "tag": "w"})
    assert 'data-count="1"' in confirm.content.decode()


def test_segment_actions_include_renders_for_who_may_act(shop, rf, make_user):
    from django.template.loader import render_to_string

    html = render_to_string("audiences/_segment_actions.html",
                            {"segment": shop["segment"], "role": "marketer"})
    assert 'action="/segments/act/"' in html and 'value="broadcast"' in html
    assert f'name="segment" value="{shop["segment"].pk}"' in html
    assert render_to_string("audiences/_segment_actions.html",
                            {"segment": shop["segment"], "role": "analyst"}).strip() == ""


def test_cli_export_and_tag_bodies(shop, tmp_path, capsys):
    out = tmp_path / "vips.csv"
    args = argparse.Namespace(segment_id=shop["segment"].pk, format="csv", output=str(out),
                              as_user=None)
    assert cmd_export(args) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert {int(r["id"]) for r in rows} == {shop["sara"].pk, shop["reza"].pk}
    assert "Exported 2 contacts" in capsys.readouterr().out
    assert AuditEntry.objects.get(action="segments.export").details["count"] == 2

    args = argparse.Namespace(segment_id=shop["segment"].pk, tag="winter", as_user=None,
                              bulk_action="tag")
    assert cmd_tag(args) == 0
    assert "Tagged 2 of 2 people" in capsys.readouterr().out
    assert tagged("winter") == {shop["sara"].pk, shop["reza"].pk}
    job = Job.objects.get(kind="segments.action")
    assert job.status == "done" and job.result["changed"] == 2
    args.bulk_action = "untag"
    assert cmd_tag(args) == 0 and tagged("winter") == set()


def test_cli_action_commands_parse(shop):
    from peyvand.audiences.cli_actions import add_action_commands

    parser = argparse.ArgumentParser()
    add_action_commands(parser.add_subparsers())
    args = parser.parse_args(["export", "3", "--format", "xlsx"])
    assert (args.segment_id, args.format, args.output) == (3, "xlsx", None)
    args = parser.parse_args(["untag", "3", "vip", "--as", "mk"])
    assert (args.bulk_action, args.tag, args.as_user) == ("untag", "vip", "mk")

