"""The campaign pages: plan a draft, see the check before sending, send for approval, approve
the words shown, the calendar with the shop's own dates (issue 17)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from peyvand.campaigns.models import Campaign, ShopDate
from peyvand.campaigns.words import words_digest
from peyvand.contacts.models import Tag
from peyvand.messaging.models import OutboxMessage


@pytest.fixture
def shop(make_contact, template):
    for name in ("Sara", "Reza"):
        make_contact(first_name=name, tags=["vip"])
    make_contact(first_name="Mina", tags=["vip"], opt_in=())
    template("autumn")
    return Tag.objects.get(name="vip")


@pytest.mark.parametrize("language", ["fa", "en"])
def test_plan_check_submit_and_approve_in_the_pages(shop, client_for, language):
    marketer = client_for("marketer", language)
    page = marketer.get("/campaigns/")
    assert page.status_code == 200 and b'id="no-campaigns"' in page.content
    refused = marketer.post("/campaigns/new/", {"name": "", "tags": ["vip"]})
    assert refused.status_code == 200 and b'id="form-errors"' in refused.content
    assert b'id="template-error"' in refused.content and not Campaign.objects.exists()
    made = marketer.post("/campaigns/new/", {
        "name": "Autumn", "channel": "email", "tags": ["vip"], "template_A": "autumn",
        "goal": "orders", "attribution_days": "7", "test_percent": "20",
        "ab_metric": "click_rate", "test_hours": "4"})
    campaign = Campaign.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.goal == "orders" and campaign.attribution_days == 7
    detail = marketer.get(f"/campaigns/{campaign.pk}/")
    html = detail.content.decode()
    assert 'id="send-check" data-count="3"' in html
    assert 'data-reason="no_consent"' in html or 'data-reason="not_opted_in"' in html \
        or 'id="refusal-reasons"' in html
    assert 'id="campaign-preview"' in html and words_digest(campaign) in html
    assert 'id="approve"' not in html  # a marketer does not approve
    marketer.post(f"/campaigns/{campaign.pk}/submit/")
    campaign.refresh_from_db()
    assert campaign.status == "awaiting_approval"
    reviewer = client_for("reviewer", language)
    shown = reviewer.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="approve"' in shown
    reviewer.post(f"/campaigns/{campaign.pk}/approve/", {"digest": words_digest(campaign)})
    campaign.refresh_from_db()
    assert campaign.status == "sending"
    assert OutboxMessage.objects.count() == 3
    report = reviewer.get(f"/campaigns/{campaign.pk}/")
    assert b'id="campaign-report"' in report.content


def test_schedule_a_local_hour_in_the_jalali_calendar(shop, client_for):
    import jdatetime

    owner = client_for("owner", "fa")
    owner.post("/campaigns/new/", {"name": "Yalda", "channel": "email", "tags": ["vip"],
                                   "template_A": "autumn", "goal": "clicks",
                                   "attribution_days": "5", "test_percent": "20",
                                   "ab_metric": "click_rate", "test_hours": "4"})
    campaign = Campaign.objects.get()
    day = timezone.localdate() + dt.timedelta(days=10)
    jalali = jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d")
    owner.post(f"/campaigns/{campaign.pk}/schedule/", {
        "schedule": "local_hour", "local_date": jalali.translate(
            str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")), "local_hour": "۱۰"})
    campaign.refresh_from_db()
    assert (campaign.schedule, campaign.local_date, campaign.local_hour) == (
        "local_hour", day, 10)
    assert campaign.status == "awaiting_approval"


def test_the_calendar_shows_occasions_and_the_shops_dates(shop, client_for):
    owner = client_for("owner", "en")
    page = owner.get("/campaigns/calendar/?year=2025&month=3")
    html = page.content.decode()
    assert page.status_code == 200 and "Nowruz" in html
    added = owner.post("/campaigns/calendar/?year=2025&month=3",
                       {"name": "Stocktaking", "date": "2025-03-10", "quiet": "1"})
    assert added.status_code == 302
    row = ShopDate.objects.get()
    assert row.quiet and row.date == dt.date(2025, 3, 10)
    assert "Stocktaking" in owner.get("/campaigns/calendar/?year=2025&month=3").content.decode()
    bad = owner.post("/campaigns/calendar/", {"name": "", "date": "someday"})
    assert bad.status_code == 200 and ShopDate.objects.count() == 1
    owner.post("/campaigns/calendar/", {"delete": row.pk})
    assert not ShopDate.objects.exists()
    persian = client_for("owner-2", "fa").get("/campaigns/calendar/").content.decode()
    assert "نوروز" in persian or "cal-title" in persian


def test_an_ab_test_shows_its_sample_size_before_sending(shop, client_for, template,
                                                         actor_for):
    from peyvand.campaigns.actions import do_save_campaign
    from peyvand.campaigns.stats import sample_size_per_variant

    template("autumn-b", subject="Another")
    campaign = do_save_campaign(actor_for("owner"), {
        "name": "Subjects", "audience": {"tags": [shop.pk]}, "test_percent": 50,
        "variants": [{"template": "autumn"}, {"template": "autumn-b"}]})
    html = client_for("marketer", "en").get(f"/campaigns/{campaign.pk}/").content.decode()
    needed = sample_size_per_variant(0.03, 0.2, variants=2)  # no history: a 3% click rate
    assert f'id="ab-plan" data-needed="{needed}" data-per-group="0"' in html
    assert "That is too few" in html
