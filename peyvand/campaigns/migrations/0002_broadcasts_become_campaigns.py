"""Every broadcast made before campaigns existed becomes a campaign of one variant (A) whose
broadcast it is: its words, audience, approval and messages stay where they are, and the
campaign list shows it with its report. Nothing is deleted; reversing removes only the
campaign rows this made."""

from django.db import migrations

STATUS = {"awaiting_approval": "awaiting_approval", "queued": "sending",
          "rejected": "rejected", "cancelled": "cancelled"}
WAITING = ("queued", "sending", "deferred", "unknown")


def label(audience):
    return "، ".join(str(n) for n in audience.get("names") or []) or "…"


def forwards(apps, schema_editor):
    Broadcast = apps.get_model("messaging", "Broadcast")
    OutboxMessage = apps.get_model("messaging", "OutboxMessage")
    Campaign = apps.get_model("campaigns", "Campaign")
    Variant = apps.get_model("campaigns", "Variant")
    for item in Broadcast.objects.filter(is_test=False).select_related("template").order_by("pk"):
        if Variant.objects.filter(broadcast_id=item.pk).exists():
            continue
        spec = item.audience_spec or ({"tags": [item.tag_id]} if item.tag_id else {})
        audience = item.audience or ({"tags": [item.tag_id], "names": [item.tag_name]}
                                     if item.tag_name else {})
        status = STATUS.get(item.status, "sending")
        if status == "sending" and not OutboxMessage.objects.filter(
                broadcast_id=item.pk, state__in=WAITING).exists():
            status = "sent"
        campaign = Campaign.objects.create(
            name=f"{item.template.name} → {item.tag_name or label(audience)}"[:120],
            channel=item.template.channel, audience_spec=spec, audience=audience,
            status=status, created_by=item.created_by, approved_by=item.approved_by,
            approved_at=item.approved_at, started_at=item.approved_at,
            decision={"migrated_from": f"broadcast:{item.pk}"})
        # created_at is auto_now_add: carried over by an update
        Campaign.objects.filter(pk=campaign.pk).update(created_at=item.created_at)
        Variant.objects.create(campaign=campaign, label="A", template_id=item.template_id,
                               snapshot_id=item.snapshot_id, broadcast_id=item.pk)


def backwards(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    Campaign.objects.filter(decision__has_key="migrated_from").delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
