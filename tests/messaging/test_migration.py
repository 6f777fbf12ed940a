"""Broadcasts made before snapshots (messaging 0006): queued ones get their words frozen and
keep sending; those sent as transactional or alert keep their class, and their messages not
sent yet fail instead of skipping consent."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

# contacts before its tag keys (0002), whose state these historical Tag rows would lack.
BEFORE = [("messaging", "0004_claim_index"), ("contacts", "0001_initial")]
AFTER = [("messaging", "0006_freeze_existing_broadcasts"), ("contacts", "0001_initial")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_broadcasts_are_frozen_or_stopped():
    apps = _migrate(BEFORE)
    try:
        Contact = apps.get_model("contacts", "Contact")
        Tag = apps.get_model("contacts", "Tag")
        Template = apps.get_model("messaging", "MessageTemplate")
        Broadcast = apps.get_model("messaging", "Broadcast")
        Outbox = apps.get_model("messaging", "OutboxMessage")
        people = [Contact.objects.create(first_name=f"p{i}") for i in range(3)]
        tag = Tag.objects.create(name="vip")
        news = Template.objects.create(name="news", language="fa", subject="s",
                                       html="<p>خبر</p>")
        receipt = Template.objects.create(name="receipt", language="fa", subject="r",
                                          html="<p>رسید</p>", message_class="transactional")
        marketing = Broadcast.objects.create(template=news, tag=tag, tag_name="vip",
                                             message_class="marketing", status="queued")
        legacy = Broadcast.objects.create(template=receipt, tag=tag, tag_name="vip",
                                          message_class="transactional", status="queued")

        def row(item, person, state):
            return Outbox.objects.create(
                source=f"broadcast:{item.pk}", broadcast=item, template=item.template,
                contact=person, channel="email", to_address=f"{person.pk}@example.com",
                message_class=item.message_class, state=state)

        waiting = row(marketing, people[0], "queued")
        stopped = row(legacy, people[1], "queued")
        sent = row(legacy, people[2], "sent")

        apps = _migrate(AFTER)
        Broadcast = apps.get_model("messaging", "Broadcast")
        Outbox = apps.get_model("messaging", "OutboxMessage")
        frozen = Broadcast.objects.get(pk=marketing.pk)
        assert frozen.snapshot.html == "<p>خبر</p>" and frozen.snapshot.template_id == news.pk
        assert frozen.audience == {"tag_id": tag.pk, "tag_name": "vip"}
        assert Outbox.objects.get(pk=waiting.pk).snapshot_id == frozen.snapshot_id
        assert Outbox.objects.get(pk=waiting.pk).state == "queued"
        assert Broadcast.objects.get(pk=legacy.pk).message_class == "transactional"
        after = Outbox.objects.get(pk=stopped.pk)
        assert (after.state, after.gate_reason) == ("failed", "broadcast_class")
        assert Outbox.objects.get(pk=sent.pk).state == "sent"
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
