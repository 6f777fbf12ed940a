"""Reports: which incentive brought whom, and churn per period."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from peyvand.consent import ledger
from peyvand.consent.actions import (
    SignupRequest,
    confirm_path,
    do_confirm_email,
    do_save_form,
    do_submit_signup,
)
from peyvand.consent.churn import churn, period_starts
from peyvand.consent.ledger import Change
from peyvand.consent.models import Action, Source
from peyvand.consent.queries import incentive_report


def signup(form, email, started, *, confirm=False):
    result = do_submit_signup(form, {"email": email, "topics": ["news"]},
                              SignupRequest(ip="192.0.2.1", started=started(form),
                                            language="en"))
    if confirm:
        do_confirm_email(confirm_path(result.signup).rstrip("/").rsplit("/", 1)[1])
    return result


def test_incentive_report_numbers(system, signup_form, topics, started, owner_actor):
    other = do_save_form(system, {
        "slug": "winter", "name": "Winter", "title_fa": "زمستان", "title_en": "Winter",
        "identity": "email", "channels": ["email"], "topics": ["news"],
        "incentive_kind": "free", "incentive_fa": "کتاب رایگان", "incentive_en": "Free e-book",
        "consent_text_fa": "متن", "consent_text_en": "Text"})
    signup(signup_form, "a@example.com", started, confirm=True)
    signup(signup_form, "b@example.com", started, confirm=True)
    signup(signup_form, "c@example.com", started)
    do_save_form(system, {"incentive_kind": "win", "incentive_fa": "قرعه‌کشی",
                          "incentive_en": "A prize draw"}, signup_form)
    signup(signup_form, "d@example.com", started, confirm=True)
    signup(other, "e@example.com", started)
    signup(other, "f@example.com", started)
    rows = {(r["form"], r["incentive_kind"]): (r["signups"], r["confirmed"], r["rate"])
            for r in incentive_report(owner_actor)}
    assert rows == {("spring", "save"): (3, 2, 0.6667), ("spring", "win"): (1, 1, 1.0),
                    ("winter", "free"): (2, 0, 0.0)}


def test_incentive_report_pages(client_for, api_for, signup_form, started):
    signup(signup_form, "a@example.com", started, confirm=True)
    signup(signup_form, "b@example.com", started)
    html = client_for("analyst").get("/consent/report/").content.decode()
    assert 'data-form="spring" data-incentive="save"' in html and "50.0%" in html
    body = api_for("reviewer").get("/api/v1/consent/incentives").json()
    assert body["items"] == [{"form": "spring", "form_name": "Spring", "incentive_kind": "save",
                              "signups": 2, "confirmed": 1, "rate": 0.5}]


# --- churn --------------------------------------------------------------------------------------

def at(day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day + "T12:00"))


@pytest.fixture
def history(person, topics):
    """A: joins Jan, leaves by one-click in Apr; B: joins Feb, stays; C: joins Feb, leaves
    (too many) in Mar; D: joins Mar, hard bounce in Apr (not a refusal)."""
    news = topics["news"].pk

    def join(contact, day):
        ledger.append(contact, [Change(Action.OPT_IN, "email"),
                                Change(Action.OPT_IN, "email", news)],
                      source=Source.FORM, actor_label="f", at=at(day))
        ledger.append(contact, [Change(Action.CONFIRM, "email")], source=Source.FORM,
                      actor_label="f", at=at(day))

    def leave(contact, day, source, details=None):
        ledger.append(contact, [Change(Action.OPT_OUT, "email", None, details or {})],
                      source=source, actor_label="x", at=at(day))

    a, b, c, d = (person() for _i in range(4))
    join(a, "2024-01-10")
    join(b, "2024-02-05")
    join(c, "2024-02-20")
    leave(c, "2024-03-10", Source.UNSUBSCRIBE, {"reason": "too_many"})
    join(d, "2024-03-01")
    leave(d, "2024-04-02", Source.BOUNCE, {"reason": "hard_bounce"})
    leave(a, "2024-04-20", Source.ONE_CLICK, {"campaign": "nowruz"})


def table(report):
    return {(r.period_start.isoformat(), r.group): (r.base, r.opt_outs, r.rate)
            for r in report.rows}


def test_churn_by_channel_and_topic(history, owner_actor):
    kwargs = {"period": "month", "calendar": "gregorian", "periods": 5,
              "today": dt.date(2024, 5, 15)}
    by_channel = table(churn(owner_actor, by="channel", **kwargs))
    assert by_channel == {
        ("2024-01-01", "email"): (0, 0, None),
        ("2024-02-01", "email"): (1, 0, 0.0),
        ("2024-03-01", "email"): (3, 1, 0.3333),
        ("2024-04-01", "email"): (3, 1, 0.3333),  # the bounce is not an opt-out
        ("2024-05-01", "email"): (1, 0, 0.0),
    }
    by_topic = table(churn(owner_actor, by="topic", **kwargs))
    assert by_topic[("2024-03-01", "news")] == (3, 1, 0.3333)
    assert by_topic[("2024-05-01", "news")] == (1, 0, 0.0)


def test_churn_by_reason_source_and_campaign(history, owner_actor):
    kwargs = {"period": "month", "calendar": "gregorian", "periods": 5,
              "today": dt.date(2024, 5, 15)}
    by_reason = table(churn(owner_actor, by="reason", **kwargs))
    assert by_reason[("2024-03-01", "too_many")] == (3, 1, 0.3333)
    assert by_reason[("2024-04-01", "one_click")] == (3, 1, 0.3333)
    assert by_reason[("2024-04-01", "too_many")] == (3, 0, 0.0)
    by_source = table(churn(owner_actor, by="source", **kwargs))
    assert set(g for _p, g in by_source) == {"unsubscribe", "one_click"}
    by_campaign = table(churn(owner_actor, by="campaign", **kwargs))
    assert by_campaign[("2024-04-01", "nowruz")] == (3, 1, 0.3333)


def test_jalali_months_and_saturday_weeks():
    # 1403/02/12 (Jalali) is 2024-05-01; 1403/02/01 is 2024-04-20.
    assert period_starts("month", 2, "jalali", dt.date(2024, 5, 1)) == \
        [dt.date(2024, 3, 20), dt.date(2024, 4, 20)]
    weeks = period_starts("week", 2, "jalali", dt.date(2024, 5, 1))  # a Wednesday
    assert weeks == [dt.date(2024, 4, 20), dt.date(2024, 4, 27)]
    assert all(d.weekday() == 5 for d in weeks)
    assert period_starts("week", 1, "gregorian", dt.date(2024, 5, 1)) == [dt.date(2024, 4, 29)]


def recent_history(person, subscribe):
    contact = person()
    ledger.append(contact, [Change(Action.OPT_IN, "email")], source=Source.FORM,
                  actor_label="f", at=timezone.now() - dt.timedelta(days=70))
    ledger.append(contact, [Change(Action.CONFIRM, "email")], source=Source.FORM,
                  actor_label="f", at=timezone.now() - dt.timedelta(days=70))
    ledger.append(contact, [Change(Action.OPT_OUT, "email", None, {"reason": "not_relevant"})],
                  source=Source.UNSUBSCRIBE, actor_label="contact")
    subscribe(person())  # joins now: not in the base at the start of this month
    return contact


def test_churn_api_and_csv(api_for, person, subscribe):
    recent_history(person, subscribe)
    api = api_for("analyst")
    body = api.get("/api/v1/consent/churn?period=month&by=channel&periods=3").json()
    current = body["items"][-1]
    assert (current["group"], current["base"], current["opt_outs"], current["rate"]) == \
        ("email", 1, 1, 1.0)
    assert api.get("/api/v1/consent/churn?by=mood").status_code == 400
    response = api.get("/api/v1/consent/churn?period=week&by=reason&format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["period_start", "period", "reason", "base", "opt_outs", "rate"]
    assert rows[-1][2:] == ["not_relevant", "1", "1", "1.0000"]


def test_churn_page_draws_an_svg_chart(client_for, person, subscribe):
    recent_history(person, subscribe)
    client = client_for("reviewer", language="fa")
    html = client.get("/consent/churn/?by=reason").content.decode()
    chart = html.split('id="churn-chart">', 1)[1].split("</section>", 1)[0]
    assert "<svg" in chart and "<polyline" in chart and "<script" not in chart
    assert "۱۰۰٫۰٪" in html  # the rate, in Persian digits, decimal mark and percent sign
    response = client.get("/consent/churn/?by=reason&format=csv")
    assert response["Content-Type"].startswith("text/csv")
