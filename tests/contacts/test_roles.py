"""Role checks live in the actions: a role that may not act gets PermissionDenied and no change."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from peyvand.base.models import AuditEntry
from peyvand.contacts.actions import (
    contact_snapshot,
    do_add_note,
    do_create_contact,
    do_erase_contact,
    do_export_contact,
    do_merge_contacts,
    do_tag_contacts,
    do_update_contact,
    do_upsert_contact,
)
from peyvand.contacts.fields import do_delete_custom_field, do_save_custom_field
from peyvand.contacts.models import Contact, CustomField
from peyvand.contacts.queries import access_contact, search_contacts
from peyvand.contacts.tag_actions import do_create_tag

pytestmark = pytest.mark.django_db

ROLES = ["owner", "marketer", "support", "reviewer", "analyst"]
# Written out from the product rules, not read from roles.CAPABILITIES, so a change there
# that breaks the rules fails here.
MAY_EDIT = {"owner", "marketer", "support"}
MAY_EXPORT_ERASE = {"owner"}
MAY_DEFINE_FIELDS = {"owner", "marketer"}


@pytest.fixture
def world(owner_actor):
    # An existing tag: attaching it is editing; creating one is schema work (test_tags_schema).
    do_create_tag(owner_actor, "vip")
    a = do_create_contact(owner_actor, {"email": "a@example.com", "first_name": "A"})
    b = do_create_contact(owner_actor, {"email": "b@example.com", "first_name": "B"})
    return a, b


def state():
    """Everything a denied action could have touched."""
    return ([contact_snapshot(c) for c in Contact.objects.order_by("pk")],
            AuditEntry.objects.count())


OPERATIONS = {
    "create": lambda actor, a, b: do_create_contact(actor, {"email": "new@example.com"}),
    "upsert": lambda actor, a, b: do_upsert_contact(actor, {"email": "a@example.com",
                                                            "first_name": "X"}),
    "update": lambda actor, a, b: do_update_contact(actor, a, {"first_name": "X"}),
    "note": lambda actor, a, b: do_add_note(actor, a, "hi"),
    "tag": lambda actor, a, b: do_tag_contacts(actor, [a.pk], "vip"),
    "merge": lambda actor, a, b: do_merge_contacts(actor, a, [b]),
    "export": lambda actor, a, b: do_export_contact(actor, a),
    "erase": lambda actor, a, b: do_erase_contact(actor, a),
}
ALLOWED = {"create": MAY_EDIT, "upsert": MAY_EDIT, "update": MAY_EDIT, "note": MAY_EDIT,
           "tag": MAY_EDIT, "merge": MAY_EDIT, "export": MAY_EXPORT_ERASE,
           "erase": MAY_EXPORT_ERASE}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_role_may_do_exactly_what_the_rules_allow(actor_for, world, role, operation):
    actor = actor_for(role)
    a, b = world
    before = state()
    if role in ALLOWED[operation]:
        OPERATIONS[operation](actor, a, b)
        assert state() != before
    else:
        with pytest.raises(PermissionDenied):
            OPERATIONS[operation](actor, a, b)
        assert state() == before


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_look(actor_for, world, role):
    actor = actor_for(role)
    a, _b = world
    assert access_contact(actor, a.pk) == a
    assert search_contacts(actor, q="a@example").get() == a


def test_a_user_without_a_role_sees_nothing(world):
    from peyvand.base.actor import Actor

    nobody = Actor(user=None, role="", via="api", label="nobody")
    with pytest.raises(PermissionDenied):
        search_contacts(nobody)
    with pytest.raises(PermissionDenied):
        access_contact(nobody, world[0].pk)


@pytest.mark.parametrize("role", ROLES)
def test_only_owner_and_marketer_define_custom_fields(actor_for, role):
    actor = actor_for(role)
    if role in MAY_DEFINE_FIELDS:
        field = do_save_custom_field(actor, key="city", label_fa="شهر", label_en="City",
                                     type="text")
        assert do_delete_custom_field(actor, field) == 0
    else:
        with pytest.raises(PermissionDenied):
            do_save_custom_field(actor, key="city", label_fa="شهر", label_en="City",
                                 type="text")
        assert not CustomField.objects.exists()
