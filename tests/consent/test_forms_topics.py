"""The owner builds topics and sign-up forms; consent texts are versioned, never edited."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from peyvand.consent.actions import ConsentInvalid, do_delete_form, do_delete_topic, do_save_form
from peyvand.consent.models import ConsentText, SignupForm, Topic
from peyvand.contacts.fields import do_save_custom_field


def test_seed_migration_creates_the_four_topics(db):
    Topic.objects.all().delete()
    migration = importlib.import_module("peyvand.consent.migrations.0002_seed_topics")
    migration.seed(django_apps, None)
    migration.seed(django_apps, None)  # safe to run twice
    topics = {t.key: t for t in Topic.objects.all()}
    assert list(topics) == ["news", "products", "offers", "events"]
    assert topics["offers"].name_en == "Offers and discounts" and topics["news"].name_fa == "اخبار"
    assert topics["news"].default_opt_in and topics["offers"].default_frequency == "weekly"


def test_editing_a_consent_text_makes_a_new_version(system, signup_form):
    do_save_form(system, {"consent_text_en": "New wording."}, signup_form)
    do_save_form(system, {"consent_text_en": "New wording.", "name": "Renamed"}, signup_form)
    versions = list(ConsentText.objects.filter(form=signup_form, language="en")
                    .order_by("version").values_list("version", "text"))
    assert versions == [(1, "I want to receive the messages I chose."), (2, "New wording.")]
    assert signup_form.current_text("fa").version == 1


@pytest.mark.parametrize("raw,field", [
    ({"channels": ["fax"]}, "channels"),
    ({"topics": ["gossip"]}, "topics"),
    ({"topics": []}, "topics"),
    ({"identity": "email", "channels": ["sms"]}, "channels"),
    ({"incentive_kind": "win", "incentive_en": ""}, "incentive_en"),
    ({"consent_text_fa": " "}, "consent_text_fa"),
    ({"slug": "winter"}, "slug"),
])
def test_form_validation(system, signup_form, raw, field):
    do_save_form(system, {"slug": "winter", "name": "W", "title_fa": "ز", "title_en": "W",
                          "channels": ["email"], "topics": ["news"],
                          "consent_text_fa": "م", "consent_text_en": "T"})
    with pytest.raises(ConsentInvalid) as info:
        do_save_form(system, raw, signup_form)
    assert field in info.value.errors


def test_forms_and_topics_with_history_are_closed_not_deleted(system, signup_form, topics,
                                                             client, started):
    client.post("/consent/f/spring/", {"t": started(signup_form), "email": "h@example.com",
                                       "topics": ["news"]})
    assert do_delete_form(system, signup_form) == "closed"
    assert do_delete_topic(system, topics["news"]) == "retired"
    assert do_delete_topic(system, topics["events"]) == "deleted"
    signup_form.refresh_from_db()
    topics["news"].refresh_from_db()
    assert not signup_form.active and not topics["news"].active
    unused = do_save_form(system, {"slug": "unused", "name": "U", "title_fa": "ی",
                                   "title_en": "U", "channels": ["email"], "topics": ["offers"],
                                   "consent_text_fa": "م", "consent_text_en": "T"})
    assert do_delete_form(system, unused) == "deleted"
    assert not SignupForm.objects.filter(slug="unused").exists()


def test_form_builder_page_and_embed_snippet(client_for, topics, system):
    do_save_custom_field(system, key="city", label_fa="شهر", label_en="City", type="text")
    client = client_for("marketer")
    page = client.get("/consent/forms/new/")
    assert page.status_code == 200
    assert "I want to receive the messages I chose above." in page.content.decode()
    response = client.post("/consent/forms/new/", {
        "name": "Shop footer", "slug": "footer", "title_fa": "عضویت", "title_en": "Join us",
        "identity": "either", "ask_first_name": "on", "custom_fields": ["city"],
        "topics": ["news", "events"], "channels": ["email", "sms"], "incentive_kind": "win",
        "incentive_fa": "قرعه‌کشی ماهانه", "incentive_en": "A monthly prize draw",
        "consent_text_fa": "موافقم.", "consent_text_en": "I agree.", "active": "on"})
    assert response.status_code == 302
    form = SignupForm.objects.get(slug="footer")
    assert [t.key for t in form.topics.all()] == ["news", "events"]
    detail = client.get(response["Location"]).content.decode()
    assert "http://127.0.0.1:8000/consent/f/footer/?lang=fa" in detail
    assert "&lt;form method=&quot;post&quot; action=&quot;http://127.0.0.1:8000/consent/f/footer/" \
           "?lang=en&quot;" in detail
    assert "name=&quot;website&quot;" in detail and "name=&quot;field_city&quot;" in detail
    bad = client.post("/consent/forms/new/", {"name": "X", "identity": "email",
                                              "channels": ["sms"], "incentive_kind": "none"})
    assert bad.status_code == 200 and "form-errors" in bad.content.decode()


def test_topic_pages_and_api(client_for, api_for, topics):
    client = client_for("owner")
    response = client.post("/consent/topics/new/", {
        "name_fa": "کارگاه‌ها", "name_en": "Workshops", "key": "workshops",
        "default_frequency": "quarterly", "active": "on"})
    assert response.status_code == 302
    assert Topic.objects.get(key="workshops").default_frequency == "quarterly"
    api = api_for("marketer")
    assert api.patch("/api/v1/topics/workshops", {"default_opt_in": True},
                     content_type="application/json").json()["default_opt_in"] is True
    assert api.post("/api/v1/topics", {"key": "Bad Key", "name_fa": "x", "name_en": "x"},
                    content_type="application/json").status_code == 400
    assert api.delete("/api/v1/topics/workshops").json() == {"outcome": "deleted"}
    assert api.get("/api/v1/topics/workshops").status_code == 404


def test_forms_api_crud(api_for, topics):
    api = api_for("owner")
    created = api.post("/api/v1/forms", {
        "slug": "api-form", "name": "API", "title_fa": "فرم", "title_en": "Form",
        "identity": "phone", "channels": ["sms"], "topics": ["offers"],
        "consent_text_fa": "موافقم", "consent_text_en": "I agree"},
        content_type="application/json")
    assert created.status_code == 201, created.json()
    # PEYVAND_PUBLIC_URL (here the default), never the request's Host header.
    assert created.json()["hosted_url"] == "http://127.0.0.1:8000/consent/f/api-form/"
    changed = api.patch("/api/v1/forms/api-form", {"consent_text_en": "I agree, really"},
                        content_type="application/json").json()
    assert (changed["text_version_en"], changed["text_version_fa"]) == (2, 1)
    assert [f["slug"] for f in api.get("/api/v1/forms").json()["items"]] == ["api-form"]
    assert api.delete("/api/v1/forms/api-form").json() == {"outcome": "deleted"}
