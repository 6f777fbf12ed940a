"""The sent journal (SQLite): accepted messages are recorded in it before their connection goes
on; a dead sender's journal says which of its `sending` rows were sent, the rest are resent."""

from __future__ import annotations

import pytest

from peyvand.contacts.models import TimelineEvent
from peyvand.messaging import journal, outbox
from peyvand.messaging.actions import do_create_broadcast
from peyvand.messaging.models import OutboxMessage, StrategyRule
from peyvand.messaging.sender import Sender
from peyvand.messaging.smtp import SmtpConfig
from tests.messaging.sink import start_sink

S = OutboxMessage.State


@pytest.fixture
def claimed(make_contact, template, owner_actor):
    StrategyRule.objects.all().delete()
    for i in range(6):
        make_contact(f"j{i}@example.com", tags=["journal"])
    do_create_broadcast(owner_actor, template("journal"), "journal")
    return outbox.claim("host:1:dead", 100)


def test_a_dead_senders_journal_marks_what_was_accepted_and_the_rest_is_resent(claimed):
    sent = journal.SentJournal("host:1:dead")
    for row in claimed[:4]:
        assert sent.add(row.pk)
    sent.close()
    with open(journal.path_for("host:1:dead"), "ab") as cut:
        cut.write(str(claimed[4].pk)[:1].encode())  # a last line the kill cut short: no id
    resent = outbox.recover("host:2:me", lambda owner: owner == "host:1:dead")
    states = dict(OutboxMessage.objects.values_list("pk", "state"))
    assert [states[r.pk] for r in claimed[:4]] == [S.SENT] * 4
    assert all(states[r.pk] == S.UNKNOWN for r in claimed[4:]) and resent == len(claimed) - 4
    flagged = set(OutboxMessage.objects.filter(resent_after_crash=True).values_list("pk",
                                                                                   flat=True))
    assert flagged == {r.pk for r in claimed[4:]}  # only what may not have gone
    assert TimelineEvent.objects.filter(kind="message.sent").count() == 4
    assert not journal.path_for("host:1:dead").exists()  # applied once


def test_a_live_senders_journal_is_left_alone(claimed):
    sent = journal.SentJournal("host:1:dead")
    sent.add(claimed[0].pk)
    assert outbox.recover("host:2:me", lambda owner: False) == 0
    assert journal.accepted_by("host:1:dead") == [claimed[0].pk]
    assert OutboxMessage.objects.get(pk=claimed[0].pk).state == S.SENDING
    sent.remove()


def test_a_journal_that_cannot_be_written_says_so(claimed):
    sent = journal.SentJournal("host:1:dead")
    sent.close()  # as after a write failed
    assert sent.add(claimed[0].pk) is False
    sent.remove()


def test_a_clean_run_leaves_no_journal_and_records_every_result(claimed):
    OutboxMessage.objects.update(state=S.QUEUED, claimed_by="")  # claimed by no one now
    controller, handler = start_sink()
    try:
        config = SmtpConfig(host="127.0.0.1", port=controller.port,
                            from_address="news@shop.example", connections=3)
        sender = Sender(config=config)
        stats = sender.run()
    finally:
        controller.stop()
    assert stats.sent == len(claimed)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {S.SENT}
    assert not journal.path_for(sender.worker).exists()
