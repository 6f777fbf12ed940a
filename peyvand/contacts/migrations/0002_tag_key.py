"""Tags are one tag whatever their case and spacing («VIP» = «vip»): each tag gets its
folded key, tags that fold alike are merged into the oldest (its contacts and every row that
points at a merged tag move to it); 0003 makes the key unique (apart: PostgreSQL cannot alter
a table with the deletes' constraint checks still pending in the same transaction)."""

import re

from django.db import migrations, models


def tag_key(name):
    # As peyvand.contacts.models.tag_key at the time of this migration.
    return re.sub(r"[\s\u200c]+", "", str(name or "")).casefold()


def merge_duplicates(apps, schema_editor):
    Tag = apps.get_model("contacts", "Tag")
    ContactTag = apps.get_model("contacts", "ContactTag")
    survivors = {}
    for tag in Tag.objects.order_by("pk"):
        key = tag_key(tag.name)
        survivor = survivors.setdefault(key, tag)
        if survivor.pk != tag.pk:
            had = set(ContactTag.objects.filter(tag=survivor).values_list("contact_id",
                                                                          flat=True))
            ContactTag.objects.filter(tag=tag).exclude(contact_id__in=had).update(tag=survivor)
            ContactTag.objects.filter(tag=tag).delete()
            # Any other app's row that points at the tag (a broadcast's audience) follows it.
            for rel in Tag._meta.get_fields(include_hidden=True):
                if rel.auto_created and rel.one_to_many and rel.related_model is not ContactTag:
                    rel.related_model._base_manager.filter(**{rel.field.name: tag}).update(
                        **{rel.field.name: survivor})
            tag.delete()
        else:
            tag.key = key
            tag.save(update_fields=["key"])


class Migration(migrations.Migration):

    # The floors above that point at tags put their first migration before this one
    # (messaging 0001's run_before), so that this migration's state knows their rows and
    # moves them to the merged tag rather than letting SET_NULL drop a broadcast's audience;
    # contacts names no floor above it.
    dependencies = [
        ("contacts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="tag",
            name="key",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(merge_duplicates, migrations.RunPython.noop),
    ]
