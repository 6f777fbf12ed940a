"""Broadcasts queued before snapshots existed: their words are frozen as the template holds
them now (the best record left), and their outbox rows point at that snapshot, since the
sender renders snapshots only. Broadcasts sent as transactional or alert keep their class (the
record of what happened); their messages not sent yet are failed, not sent: they skipped
consent and approval, which a broadcast may no longer do."""

from django.db import migrations

UNSENT = ("queued", "deferred", "unknown", "sending")
GATE_TEXT = ("Denied: a broadcast may no longer skip consent as transactional or alert; "
             "send it again as marketing.")


def freeze_existing(apps, schema_editor):
    from peyvand.messaging.content import SNAPSHOT_FIELDS, content_digest

    Broadcast = apps.get_model("messaging", "Broadcast")
    ContentSnapshot = apps.get_model("messaging", "ContentSnapshot")
    OutboxMessage = apps.get_model("messaging", "OutboxMessage")
    for item in Broadcast.objects.filter(status="queued", snapshot__isnull=True) \
            .select_related("template"):
        template = item.template
        snapshot, _ = ContentSnapshot.objects.get_or_create(
            template=template, digest=content_digest(template),
            defaults={"template_name": template.name,
                      **{f: getattr(template, f) for f in SNAPSHOT_FIELDS}})
        item.snapshot = snapshot
        item.audience = {"tag_id": item.tag_id, "tag_name": item.tag_name}
        item.save(update_fields=["snapshot", "audience"])
        OutboxMessage.objects.filter(broadcast=item, snapshot__isnull=True).update(
            snapshot=snapshot)
    OutboxMessage.objects.filter(broadcast__isnull=False, state__in=UNSENT).exclude(
        broadcast__message_class="marketing").update(
        state="failed", gate_verdict="deny", gate_reason="broadcast_class",
        gate_text=GATE_TEXT)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_content_snapshots")]

    operations = [migrations.RunPython(freeze_existing, migrations.RunPython.noop)]
