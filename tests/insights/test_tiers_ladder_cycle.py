"""Value tiers, the pyramid, monthly movement, the ladder of loyalty and purchase cycles."""

import datetime as dt

import numpy as np
import pytest

from peyvand.contacts.actions import do_tag_contacts
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import FieldValue, Identity
from peyvand.contacts.timeline import append_event
from peyvand.insights import actions, cycle, ladder, tiers
from peyvand.insights.models import CustomerMetrics, InsightSettings, TierSnapshot
from tests.insights.conftest import at, bulk_orders, contact, order

pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 6, 30)


def m(c) -> CustomerMetrics:
    return CustomerMetrics.objects.get(contact=c)


def test_most_valuable_is_the_top_share_by_contribution(system):
    people = [contact() for _ in range(20)]
    bulk_orders([(p.pk, dt.date(2024, 3, 1), 100_000 * (i + 1)) for i, p in enumerate(people)])
    actions.do_save_settings(system, {"top_percent": 20})
    actions.refresh_all(system, DAY)
    top = set(CustomerMetrics.objects.filter(value_tier="most_valuable")
              .values_list("contact_id", flat=True))
    assert top == {p.pk for p in people[-4:]}


def test_growable_are_outside_the_top_with_large_predicted_value(system):
    frame = {"order_count": np.array([1, 1, 1, 1, 0]),
             "contribution": np.array([1000, 100, 100, 50, 0]),
             "predicted_value": np.array([900.0, 400.0, 20.0, 10.0, 0.0])}
    s = InsightSettings(top_percent=25, growable_ratio=1.0)
    learned = tiers.learn(frame, s)
    assert learned["top_threshold"] == 1000
    assert list(tiers.assign(frame, learned, s)) == [
        "most_valuable", "most_growable", "rest", "rest", ""]


def test_pyramid_shares_and_histogram():
    net = np.array([1000] + [10] * 99)
    p = tiers.pyramid(net)
    assert p["customers"] == 100
    assert p["bands"][0]["customers"] == 1
    assert p["bands"][0]["share"] == pytest.approx(1000 / 1990)
    assert sum(b["share"] for b in p["bands"]) == pytest.approx(1.0)
    assert p["top20_share"] == pytest.approx((1000 + 19 * 10) / 1990)
    h = tiers.histogram(np.array([0, 5, 50, 500, 5000]))
    assert h["zero_or_less"] == 1 and sum(b["customers"] for b in h["bins"]) == 4


def test_tiers_are_snapshotted_monthly_and_movement_counted(system):
    big, small = contact(), contact()
    order(big.pk, dt.date(2024, 1, 5), 5_000_000)
    order(small.pk, dt.date(2024, 1, 6), 100_000)
    actions.do_save_settings(system, {"top_percent": 50, "growable_ratio": 100})
    actions.refresh_all(system, dt.date(2024, 1, 31))
    order(small.pk, dt.date(2024, 2, 1), 9_000_000)
    TierSnapshot.objects.create(month=dt.date(2021, 1, 1), contact=big, tier="rest")
    run = actions.refresh_all(system, dt.date(2024, 2, 29))
    assert not TierSnapshot.objects.filter(month=dt.date(2021, 1, 1)).exists()  # pruned
    assert TierSnapshot.objects.filter(month=dt.date(2024, 1, 1)).count() == 2
    assert TierSnapshot.objects.get(month=dt.date(2024, 2, 1), contact=small).tier == \
        "most_valuable"
    moves = {(x["from"], x["to"]): x["customers"] for x in run.summary["movement"]["moves"]}
    assert moves[("rest", "most_valuable")] == 1
    assert moves[("most_valuable", "rest")] == 1
    assert run.summary["movement"]["has_previous"] is True
    # A second refresh in the same month replaces that month's snapshot.
    actions.refresh_all(system, dt.date(2024, 2, 29))
    assert TierSnapshot.objects.filter(month=dt.date(2024, 2, 1)).count() == 2


def test_ladder_stages_from_behaviour_tags_and_referrals(system):
    s = actions.get_settings()
    suspect, prospect_tag, prospect_engaged = contact(), contact(), contact()
    customer, client, supporter, advocate_ref, advocate_code, advocate_tag = (
        contact() for _ in range(6))
    do_tag_contacts(system, [prospect_tag.pk], "newsletter")
    append_event(prospect_engaged.pk, "site.visit", at=at(DAY))
    order(customer.pk, dt.date(2024, 5, 1))
    for c in (client, supporter):
        order(c.pk, dt.date(2024, 4, 1))
        order(c.pk, dt.date(2024, 5, 1))
    do_tag_contacts(system, [supporter.pk], "promoter")
    do_tag_contacts(system, [advocate_tag.pk], "advocate")
    field = do_save_custom_field(system, key=s.referral_field, label_fa="معرف",
                                 label_en="Referred by", type="text")
    friend1, friend2 = contact(), contact()
    FieldValue.objects.create(contact=friend1, field=field, text_value=str(advocate_ref.pk))
    Identity.objects.create(contact=advocate_code, kind="external", source="referral",
                            value="ALI10")
    FieldValue.objects.create(contact=friend2, field=field, text_value="ALI10")
    actions.refresh_all(system, DAY)
    expected = {suspect: "suspect", prospect_tag: "prospect", prospect_engaged: "prospect",
                customer: "customer", client: "client", supporter: "supporter",
                advocate_ref: "advocate", advocate_code: "advocate", advocate_tag: "advocate"}
    assert {c: m(c).ladder_stage for c in expected} == expected
    assert m(supporter).relationship == "relational"
    assert m(client).relationship == "transactional"
    assert m(customer).relationship == "transactional"
    assert m(suspect).relationship == ""
    definitions = {d["stage"]: d["rule"] for d in ladder.definitions(s)}
    assert "promoter" in definitions["supporter"] and "newsletter" in definitions["prospect"]


def test_opt_in_providers_from_other_apps_count(system):
    c = contact()
    ladder.OPT_IN_PROVIDERS.append(lambda ids: [c.pk])
    try:
        actions.refresh_all(system, DAY)
    finally:
        ladder.OPT_IN_PROVIDERS.pop()
    assert m(c).ladder_stage == "prospect"


def test_relational_needs_repeat_and_engagement(system):
    keen, cold = contact(), contact()
    for c in (keen, cold):
        order(c.pk, dt.date(2024, 4, 1))
        order(c.pk, dt.date(2024, 5, 1))
    append_event(keen.pk, "message.clicked", at=at(DAY))
    actions.refresh_all(system, DAY)
    assert m(keen).relationship == "relational"
    assert m(cold).relationship == "transactional"


def test_cycle_shrinks_few_orders_toward_the_average():
    # Forty steady customers buy every 30 days; one bought three times 10 days apart,
    # another ten times 10 days apart; one bought twice, one once.
    first = np.array([1000] * 44)
    days = np.array([5] * 40 + [3, 10, 2, 1])
    last = first + np.array([120] * 40 + [20, 90, 10, 0])
    frame = {"id": np.arange(44), "purchase_days": days, "first_day": first,
             "last_day": last, "main_category": np.array([""] * 44, dtype=object)}
    priors = cycle.learn(frame)
    cyc, due, status = cycle.apply(frame, priors, 1000 + 150, 7)
    assert priors["shop"] == pytest.approx((40 * 120 + 20 + 90 + 10) / (40 * 4 + 2 + 9 + 1))
    assert cyc[40] > 15  # two intervals of 10 days: pulled well toward ~29
    assert 10 < cyc[41] < cyc[40]  # nine intervals of 10: closer to their own
    assert due[0] == 1120 + round(cyc[0])
    assert status[0] == "due"
    # One interval or none is no rhythm: no cycle, no due date, no status.
    assert np.isnan(cyc[42]) and np.isnan(cyc[43])
    assert due[42] == due[43] == 0 and status[42] == status[43] == ""


def test_category_average_is_the_prior_when_enough_buy_there():
    n = 25
    first = np.array([0] * (2 * n + 1))
    days = np.array([3] * (2 * n) + [3])
    last = np.array([20] * n + [100] * n + [20])  # tea every 10 days, furniture every 50
    cats = np.array(["tea"] * n + ["furniture"] * n + ["tea"], dtype=object)
    frame = {"id": np.arange(2 * n + 1), "purchase_days": days, "first_day": first,
             "last_day": last, "main_category": cats}
    priors = cycle.learn(frame)
    frame_learn = {k: v[:-1] for k, v in frame.items()}
    priors = cycle.learn(frame_learn)
    assert priors["categories"] == {"tea": 10.0, "furniture": 50.0}
    slow = dict(frame, last_day=np.r_[frame["last_day"][:-1], 60])  # tea every 30 days
    cyc, _due, _status = cycle.apply(slow, priors, 0, 7)
    # Two intervals of 30 shrunk toward the tea cycle, not the shop's.
    assert 10 < cyc[-1] < 30
    furniture = np.array(list(cats[:-1]) + ["furniture"], dtype=object)
    assert cyc[-1] < cycle.apply(dict(slow, main_category=furniture), priors, 0, 7)[0][-1]


def test_due_statuses_and_due_list(system, api_for):
    today = dt.date(2024, 6, 30)
    steady = [contact() for _ in range(30)]
    rows = []
    for i, c in enumerate(steady):
        start = dt.date(2023, 6, 1) + dt.timedelta(days=i)
        rows += [(c.pk, start + dt.timedelta(days=30 * k), 100_000) for k in range(4)]
    due_now, overdue, lapsed = contact(), contact(), contact()
    for c, last in ((due_now, today - dt.timedelta(days=30)),
                    (overdue, today - dt.timedelta(days=50)),
                    (lapsed, today - dt.timedelta(days=300))):
        rows += [(c.pk, last - dt.timedelta(days=60), 100_000),
                 (c.pk, last - dt.timedelta(days=30), 100_000), (c.pk, last, 100_000)]
    bulk_orders(rows)
    actions.refresh_all(system, today)
    assert m(due_now).due_status == "due"
    assert m(overdue).due_status == "overdue"
    assert m(lapsed).due_status == "lapsed"
    assert m(due_now).cycle_days == pytest.approx(30, abs=1)
    body = api_for("support").get("/api/v1/insights/due").json()
    listed = [i["contact_id"] for i in body["items"]]
    assert overdue.pk in listed and due_now.pk in listed and lapsed.pk not in listed
    assert listed.index(overdue.pk) < listed.index(due_now.pk)  # soonest due first
    only = api_for("analyst").get("/api/v1/insights/due?status=overdue").json()
    assert {i["due_status"] for i in only["items"]} == {"overdue"}
