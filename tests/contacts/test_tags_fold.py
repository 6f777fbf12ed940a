"""A tag is one tag whatever its case and spacing: «VIP» = «vip» = «V I P»; the migration
merges the duplicates an install already has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from peyvand.contacts.actions import ContactInvalid, do_create_contact
from peyvand.contacts.models import Tag, tag_key
from peyvand.contacts.queries import search_contacts
from peyvand.contacts.tag_actions import do_create_tag, do_rename_tag


def test_the_key_ignores_case_spaces_and_half_spaces():
    assert tag_key("VIP") == tag_key("vip") == tag_key(" V I P ") == "vip"
    assert tag_key("نیم‌فاصله") == tag_key("نیم فاصله")
    assert tag_key("vip") != tag_key("vips")


@pytest.mark.django_db
def test_a_second_spelling_is_refused_and_tagging_finds_the_first(owner_actor):
    vip = do_create_tag(owner_actor, "VIP")
    with pytest.raises(ContactInvalid) as exc:
        do_create_tag(owner_actor, "vip")
    assert "VIP" in str(exc.value.errors["name"])
    other = do_create_tag(owner_actor, "Gold")
    with pytest.raises(ContactInvalid):
        do_rename_tag(owner_actor, other, "v i p")
    assert do_rename_tag(owner_actor, vip, "Vip").name == "Vip"  # its own new spelling
    person = do_create_contact(owner_actor, {"first_name": "Sara", "email": "sara@example.com",
                                             "tags": ["vip "]})
    assert list(person.tags.values_list("pk", flat=True)) == [vip.pk]
    assert Tag.objects.count() == 2
    assert list(search_contacts(owner_actor, tag="VIP")) == [person]


LATEST_MESSAGING = ("messaging", "0010_snapshot_sender_name")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_merges_duplicates_into_the_oldest():
    apps = _migrate([("contacts", "0001_initial"), LATEST_MESSAGING])
    try:
        Contact = apps.get_model("contacts", "Contact")
        Tag0 = apps.get_model("contacts", "Tag")
        ContactTag = apps.get_model("contacts", "ContactTag")
        Template = apps.get_model("messaging", "MessageTemplate")
        Broadcast = apps.get_model("messaging", "Broadcast")
        a, b = Contact.objects.create(first_name="a"), Contact.objects.create(first_name="b")
        first, second, third = (Tag0.objects.create(name=n) for n in ("VIP", "vip", "V I P"))
        other = Tag0.objects.create(name="gold")
        ContactTag.objects.create(contact=a, tag=first)
        ContactTag.objects.create(contact=a, tag=second)  # a has both spellings
        ContactTag.objects.create(contact=b, tag=third)
        ContactTag.objects.create(contact=b, tag=other)
        news = Template.objects.create(name="news", language="fa", subject="s", html="<p>x</p>")
        sent = Broadcast.objects.create(template=news, tag=third, tag_name="V I P",
                                        message_class="marketing", status="queued")

        apps = _migrate([("contacts", "0003_tag_key_unique"), LATEST_MESSAGING])
        Tag2 = apps.get_model("contacts", "Tag")
        ContactTag = apps.get_model("contacts", "ContactTag")
        Broadcast = apps.get_model("messaging", "Broadcast")
        assert sorted(Tag2.objects.values_list("name", "key")) == [("VIP", "vip"),
                                                                    ("gold", "gold")]
        assert sorted(ContactTag.objects.filter(tag_id=first.pk)
                      .values_list("contact_id", flat=True)) == [a.pk, b.pk]
        assert ContactTag.objects.filter(tag_id=other.pk).count() == 1
        assert Broadcast.objects.get(pk=sent.pk).tag_id == first.pk
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
