"""What came of a campaign: the report from tracking's rows (test sends never counted, the
campaign's own attribution window), and an A/B test decided at its time, the winner (or the
control) sent to the rest (issue 17, items 4, 5 and 8)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from peyvand.campaigns import actions, sending
from peyvand.campaigns.models import Campaign, Recipient
from peyvand.campaigns.queries import report, report_csv
from peyvand.campaigns.words import words_digest
from peyvand.commerce.models import Order
from peyvand.contacts.models import Tag
from peyvand.messaging.models import OutboxMessage
from tests.tracking.report_data import SCANNER, drain, hit


def _sent(rows) -> None:
    OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
        state="sent", sent_at=timezone.now() - dt.timedelta(hours=1))


def _clicks(rows, at, ua=None) -> None:
    drain(*[hit("click", r, at, url="https://shop.example/tea",
                **({"ua": ua} if ua else {})) for r in rows])


def _opens(rows, at) -> None:
    drain(*[hit("open", r, at) for r in rows])


@pytest.fixture
def vip(make_contact, template):
    for i in range(6):
        make_contact(first_name=f"P{i}", tags=["vip"])
    template("autumn")
    return Tag.objects.get(name="vip")


def test_the_report_counts_the_campaigns_rows_and_its_window(vip, actor_for, api_for, cli):
    owner = actor_for("owner")
    campaign = actions.do_save_campaign(owner, {
        "name": "Autumn", "audience": {"tags": [vip.pk]}, "template": "autumn",
        "attribution_days": 7})
    from peyvand.contacts.models import ContactTag

    seed = ContactTag.objects.filter(tag=vip).order_by("contact_id").first().contact_id
    test = sending.do_test_send(owner, campaign, [seed])
    actions.do_submit(owner, campaign)
    campaign = actions.do_approve(owner, campaign, words_digest(campaign))
    rows = list(OutboxMessage.objects.filter(broadcast=campaign.variants.get().broadcast)
                .order_by("pk"))
    assert len(rows) == 6
    _sent(rows)
    _sent(test.broadcast.messages.all())
    now = timezone.now()
    _opens(rows[:4], now)
    _opens(list(test.broadcast.messages.all()), now)  # a test's open is never counted
    _clicks(rows[:2], now + dt.timedelta(minutes=5))
    _clicks(rows[2:3], now + dt.timedelta(minutes=5), ua=SCANNER)  # a machine's click
    # Six days after the click: inside this campaign's 7-day window (the default is 5).
    Order.objects.create(source="t", external_id="1", contact_id=rows[0].contact_id,
                         placed_at=now + dt.timedelta(days=6), status="completed",
                         currency="IRR", total=250_000, subtotal=250_000)
    numbers = report(owner, campaign)
    assert (numbers["sent"], numbers["delivered"], numbers["opened"], numbers["clicked"],
            numbers["ordered"], numbers["revenue"]) == (6, 6, 4, 2, 1, {"IRR": 250_000})
    assert numbers["variants"][0]["opened"] == 4 and numbers["links"][0]["unique"] == 2
    api = api_for("analyst").get(f"/api/v1/campaigns/{campaign.pk}/report")
    assert api.status_code == 200
    body = api.json()
    for key in ("sent", "delivered", "opened", "machine_opened", "clicked", "ordered",
                "revenue", "bounced", "complained", "unsubscribed", "links", "variants"):
        assert key in body, key
    assert body["opened"] == 4 and body["variants"][0]["label"] == "A"
    from peyvand.campaigns.queries import breakdowns

    tables = {t["by"]: t["rows"] for t in breakdowns(campaign)}
    # Nobody has insights yet: everyone under "no orders yet", the counts the report's.
    assert [(r["sent"], r["opened"], r["clicked"]) for r in tables["tier"]] == [(6, 4, 2)]
    assert sum(r["ordered"] for r in tables["rung"]) == 1
    csv_text = report_csv(numbers)
    assert "opened,,4," in csv_text and "A:opened,,4," in csv_text
    code, out, err = cli("campaigns", "report", str(campaign.pk), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["clicked"] == 2
    code, out, _err = cli("campaigns", "list")
    assert code == 0 and "Autumn" in out


def _ab(make_contact, template, actor, metric="click_rate"):
    for i in range(400):
        make_contact(first_name=f"P{i}", tags=["all"])
    template("a")
    template("b", subject="Another subject")
    campaign = actions.do_save_campaign(actor, {
        "name": "Subject test", "audience": {"tags": [Tag.objects.get(name="all").pk]},
        "variants": [{"template": "a"}, {"template": "b"}], "test_percent": 50,
        "ab_metric": metric, "test_hours": 2})
    actions.do_submit(actor, campaign)
    return actions.do_approve(actor, campaign, words_digest(campaign))


def test_a_significantly_better_variant_goes_to_the_rest(make_contact, template, actor_for):
    owner = actor_for("owner")
    campaign = _ab(make_contact, template, owner)
    a, b = campaign.variants.order_by("label")
    rows_a = list(a.broadcast.messages.order_by("pk"))
    rows_b = list(b.broadcast.messages.order_by("pk"))
    _sent(rows_a + rows_b)
    now = timezone.now()
    _clicks(rows_a[:5], now)  # ~5% against ~40%
    _clicks(rows_b[: len(rows_b) * 2 // 5], now)
    assert sending.decide_due(now=campaign.decide_at - dt.timedelta(minutes=1)) == 0
    assert sending.decide_due(now=campaign.decide_at) == 1
    campaign.refresh_from_db()
    b.refresh_from_db()
    assert campaign.status == "sending" and campaign.decision["winner"] == "B"
    assert campaign.decision["significant"] is True
    assert campaign.decision["p_values"][1] < 0.05
    rest = set(Recipient.objects.filter(campaign=campaign, variant__isnull=True)
               .values_list("contact_id", flat=True))
    assert rest and set(b.rest_broadcast.messages.values_list("contact_id", flat=True)) == rest
    assert b.rest_broadcast.snapshot_id == b.snapshot_id


def test_without_a_significant_winner_the_control_goes_to_the_rest(make_contact, template,
                                                                   actor_for):
    owner = actor_for("owner")
    campaign = _ab(make_contact, template, owner, metric="open_rate")
    a, b = campaign.variants.order_by("label")
    rows_a = list(a.broadcast.messages.order_by("pk"))
    rows_b = list(b.broadcast.messages.order_by("pk"))
    _sent(rows_a + rows_b)
    now = timezone.now()
    _opens(rows_a[:20], now)
    _opens(rows_b[:22], now)
    sending.decide_due(now=campaign.decide_at)
    campaign.refresh_from_db()
    a.refresh_from_db()
    assert campaign.decision["winner"] == "A" and campaign.decision["significant"] is False
    assert "control" in campaign.decision["reason"]
    assert a.rest_broadcast is not None
    assert Campaign.objects.get().status == "sending"


def test_a_sender_name_variant_goes_out_under_its_own_name(make_contact, template, actor_for,
                                                          deliver):
    """An A/B test of the sender name: B's messages carry B's name in From; A's the
    settings' name; the digest the reviewer approved covers the name."""
    owner = actor_for("owner")
    for i in range(60):
        make_contact(first_name=f"P{i}", tags=["all"])
    template("a")
    campaign = actions.do_save_campaign(owner, {
        "name": "Who from", "audience": {"tags": [Tag.objects.get(name="all").pk]},
        "variants": [{"template": "a"}, {"template": "a", "from_name": "Sara at the shop"}],
        "test_percent": 50})
    before = words_digest(campaign)
    actions.do_submit(owner, campaign)
    campaign = actions.do_approve(owner, campaign, before)
    a, b = campaign.variants.order_by("label")
    assert (a.snapshot.from_name, b.snapshot.from_name) == ("", "Sara at the shop")
    to_b = set(b.broadcast.messages.values_list("to_address", flat=True))
    received = deliver()
    assert received and {m["To"].addresses[0].addr_spec for m in received} >= to_b
    for message in received:
        sender = message["From"].addresses[0].display_name
        mine = message["To"].addresses[0].addr_spec in to_b
        assert sender == ("Sara at the shop" if mine else "Shop"), sender
