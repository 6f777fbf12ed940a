from __future__ import annotations

import pytest
from django.test import Client

from peyvand.accounts.actions import do_create_token
from peyvand.base.actor import Actor
from peyvand.contacts.fields import do_save_custom_field
from peyvand.contacts.models import (
    Contact,
    ContactTag,
    CustomField,
    FieldValue,
    Identity,
    Note,
    Tag,
    TimelineEvent,
)

ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Every test makes users; the real hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_for(make_user):
    """A test client sending a bearer token for a new user of `role`."""

    def make(role: str = "owner", username: str | None = None) -> Client:
        user = make_user(username or f"{role}-api", role)
        key = do_create_token(Actor.system("test"), user, "tests")
        client = Client(headers={"authorization": f"Bearer {key}"})
        client.user = user
        client.key = key
        return client

    return make


@pytest.fixture
def api(api_for) -> Client:
    return api_for("owner")


@pytest.fixture
def system():
    return Actor.system("test")


@pytest.fixture
def size_field(db, system) -> CustomField:
    return do_save_custom_field(system, key="size", label_fa="سایز", label_en="Size",
                                type="number")


def send(client: Client, method: str, url: str, data=None):
    """A JSON request; `data` may be any JSON value or an already encoded string."""
    return getattr(client, method)(url, data if data is not None else {},
                                   content_type="application/json")


def db_state() -> dict:
    """Everything the contacts API can change, to prove a refused call changed nothing."""
    from peyvand.base.models import AuditEntry

    return {
        "contacts": list(Contact.objects.order_by("pk").values_list(
            "pk", "first_name", "last_name", "birthday", "national_id", "erased_at",
            "updated_at")),
        "identities": list(Identity.objects.order_by("pk").values_list(
            "pk", "contact_id", "kind", "source", "value", "is_primary")),
        "tags": list(Tag.objects.order_by("pk").values_list("pk", "name")),
        "contact_tags": list(ContactTag.objects.order_by("pk").values_list(
            "contact_id", "tag_id")),
        "fields": list(CustomField.objects.order_by("pk").values_list(
            "pk", "key", "label_fa", "label_en", "type", "choices")),
        "values": list(FieldValue.objects.order_by("pk").values_list(
            "contact_id", "field_id", "text_value", "number_value", "date_value",
            "bool_value")),
        "notes": list(Note.objects.order_by("pk").values_list("contact_id", "body")),
        "timeline": list(TimelineEvent.objects.order_by("pk").values_list(
            "contact_id", "kind", "data")),
        "audit": list(AuditEntry.objects.order_by("pk").values_list("action", "target_id")),
    }
