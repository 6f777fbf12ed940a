"""Building a chunk of claimed rows: each row asks the OutboundGate, then is rendered from
its frozen content into MIME (links tracked, DKIM-signed, a VERP return path), or handed to
the SMS channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from jinja2 import TemplateError

from peyvand.messaging import consent_port, gate, outbox
from peyvand.messaging.channels import sms
from peyvand.messaging.content import Prepared, prepare
from peyvand.messaging.dkim import DkimSigner
from peyvand.messaging.mime import MimeTemplate
from peyvand.messaging.models import ContentSnapshot, MessageClass, OutboxMessage
from peyvand.messaging.sender_helpers import Stats
from peyvand.messaging.smtp import SmtpConfig
from peyvand.messaging.strategy import active_rules
from peyvand.messaging.templates_engine import TemplateInvalid, contexts_for
from peyvand.messaging.tracker import tracker

S = OutboxMessage.State

# SMS whose links become short tracked links; transactional texts (order and account
# notices) go as written.
TRACKED_SMS = (MessageClass.MARKETING, MessageClass.ALERT)

# While a chunk is built, its messages go to the connections this many at a time, and the
# results that came back meanwhile are recorded: a connection waits for its result to be on
# disk, so recording only between chunks would leave them idle during each build.
HAND_OVER = 10


@dataclass
class Job:
    row: OutboxMessage
    envelope_from: str
    rcpt: str
    data: bytes  # built by mime.MimeTemplate: every line ends in CRLF (canonical)
    eight_bit: bool = False  # built with 8-bit bodies: sent with BODY=8BITMIME


class MessageBuilder:
    """Gating and building claimed rows (a part of `Sender`)."""

    config: SmtpConfig
    _prepared: dict[int, Prepared]
    _mime: dict[int, MimeTemplate]
    _written_mime: MimeTemplate | None
    _eight_bit: bool
    _dkim: DkimSigner | None
    _record_due: bool

    stats: Stats
    _turn: Callable[..., AbstractContextManager[bool]]  # SenderSlot's

    def _content(self, snapshot_id: int | None) -> tuple[Prepared, MimeTemplate]:
        """The frozen words a row is rendered from (never the live template: what was
        approved is what is sent), compiled once per sender."""
        if snapshot_id is None:
            raise ContentSnapshot.DoesNotExist("no frozen content")
        if snapshot_id not in self._prepared:
            snapshot = ContentSnapshot.objects.get(pk=snapshot_id)
            self._prepared[snapshot_id] = prepare(snapshot)
            self._mime[snapshot_id] = MimeTemplate(
                from_name=snapshot.from_name or self.config.from_name,
                from_address=self.config.from_address, domain=self.config.domain)
        return self._prepared[snapshot_id], self._mime[snapshot_id]

    def _prepare(self, rows: list[OutboxMessage],
                 hand_over: Callable[[list[Job]], None] | None = None) -> list[Job]:
        """Gate and build a chunk of claimed rows. `hand_over(jobs)`, when given, takes the
        built jobs every HAND_OVER messages (the rest are returned), so the connections are
        fed, and their results recorded, while the chunk is still being built."""
        now = timezone.now()
        contexts = contexts_for(sorted({r.contact_id for r in rows}), links=False,
                                recommendations=self._reads(rows, "recommendations"))
        allowed, done = self._gate(rows, contexts, now)
        jobs: list[Job] = []
        links_by_source = self._links(allowed)
        for row in allowed:
            job = self._build(row, contexts.get(row.contact_id, {}), links_by_source, now)
            if job is None:  # finished here: failed, or an SMS handed to its gateway
                done.append(row)
                continue
            jobs.append(job)
            # Results due to be recorded while another sender was writing are tried again
            # after each message built, not only after the next HAND_OVER.
            if hand_over is not None and (len(jobs) >= HAND_OVER or self._record_due):
                hand_over(jobs)
                jobs = []
        if done:
            with self._turn():
                outbox.finish(done)
        for row in done:
            self._count(row.state)
        return jobs

    def _gate(self, rows: list[OutboxMessage], contexts: dict[int, dict], now: dt.datetime) \
            -> tuple[list[OutboxMessage], list[OutboxMessage]]:
        """Ask the OutboundGate about each row: (allowed rows, rows denied or deferred, their
        state set)."""
        rules = active_rules()
        # What the gate needs, loaded for the whole batch: consent, and the sending history
        # the caps look at.
        consent = gate.consent_for_rows(rows)
        limited = any(r.kind != "quiet" for r in rules)
        ids = sorted({r.contact_id for r in rows})
        histories = gate.sent_histories(ids, rules, now) if limited else {}
        done: list[OutboxMessage] = []
        allowed: list[OutboxMessage] = []
        # Contacts with a message allowed in this chunk or still unrecorded from an earlier
        # one (any sender): their next message waits a minute (see below).
        passed: set[int] = gate.contacts_in_flight(rows) if limited else set()
        texts: dict[str, str] = {}
        for row in rows:
            if limited and row.contact_id in passed \
                    and row.message_class not in gate.EXEMPT_CLASSES:
                # Caps count recorded sends; one allowed a moment ago is not recorded yet.
                decision = gate.GateDecision(gate.DEFER, "in_flight",
                                             until=now + dt.timedelta(minutes=1))
            else:
                decision = gate.check_outbound(
                    row.contact_id, row.channel, topic=row.topic,
                    message_class=row.message_class, content_type=row.content_type, at=now,
                    rules=rules, zone_name=contexts.get(row.contact_id, {}).get("timezone", ""),
                    consent=consent[row.pk],
                    history=histories.get(row.contact_id, []))
            if decision.allowed:
                passed.add(row.contact_id)
            row.gate_verdict, row.gate_reason = decision.verdict, decision.reason
            if decision.reason not in texts:  # a translation looked up once per reason
                texts[decision.reason] = decision.text[:300]
            row.gate_text = texts[decision.reason]
            if decision.verdict == gate.DENY:
                row.state = S.FAILED
                done.append(row)
            elif decision.verdict == gate.DEFER:
                row.state, row.next_attempt_at = S.DEFERRED, decision.until
                row.attempts -= 1  # waiting out a rule is not a failed attempt
                done.append(row)
            else:
                allowed.append(row)
        return allowed, done

    def _build(self, row: OutboxMessage, ctx: dict[str, Any],
               links_by_source: dict[str, dict[int, dict[str, str]]], now: dt.datetime) \
            -> Job | None:
        """One allowed row's message, ready for a connection; None when the row is finished
        here (it failed, or it is an SMS and went to its gateway)."""
        written = bool(row.body_text or row.body_html)  # by Peyvand: no template, no links
        links = None
        try:
            if written:
                mime = self._system_mime()
                subject, html, text = row.subject, row.body_html, row.body_text
            else:
                prepared, mime = self._content(row.snapshot_id)
                links = links_by_source.get(row.source, {}).get(row.contact_id)
                if links:
                    ctx = {**ctx, "preferences_url": links["preferences"],
                           "unsubscribe_url": links["unsubscribe"]}
                elif prepared.footer:  # marketing e-mail never goes without the link
                    raise ValueError("no unsubscribe link")
                subject, html, text = prepared.render(ctx)
                row.merge_data, row.content_digest = prepared.record(ctx)
                # In memory only (not an outbox column for template messages): finish()
                # puts it on the timeline event, so the contact's history names the e-mail.
                row.subject = subject
        except (TemplateInvalid, TemplateError, ContentSnapshot.DoesNotExist, ValueError,
                TypeError, ArithmeticError) as exc:  # the template's fault, not the sender's
            row.state, row.smtp_reply = S.FAILED, f"template: {exc}"[:500]
            return None
        if row.channel == "sms":
            self._send_sms(row, text, now)
            return None
        if not row.to_address.isascii():
            row.state, row.smtp_reply = S.FAILED, "address needs SMTPUTF8"
            return None
        # Written messages (confirmations) are not tracked: the person has not agreed yet.
        if html and not written:
            html = tracker().rewrite_links(html, row.pk, contact_id=row.contact_id)
            pixel = tracker().open_pixel_url(row.pk, contact_id=row.contact_id)
            if pixel:
                img = f'<img src="{pixel}" width="1" height="1" alt="">'
                html = html.replace("</body>", img + "</body>", 1) if "</body>" in html \
                    else html + img
        row.message_id = mime.message_id(row.pk)
        eight_bit = self._eight_bit
        unsubscribe = None if row.message_class == "transactional" or not links else [
            f"<{links['one_click']}>"]
        data = mime.build(to_name=ctx.get("display_name", ""), to_address=row.to_address,
                          subject=subject, text=text, html=html,
                          message_id=row.message_id, unsubscribe=unsubscribe,
                          eight_bit=eight_bit)
        if self._dkim is not None:
            data = self._dkim.sign(data)
        envelope = (tracker().bounce_address(row.pk, contact_id=row.contact_id)
                    or self.config.from_address)
        return Job(row, envelope, row.to_address, data, eight_bit)

    def _reads(self, rows: list[OutboxMessage], key: str) -> bool:
        """Whether the words of a row read this merge field: recommendations are looked up
        only for a chunk that shows them (a cross-sell block)."""
        for snapshot_id in {r.snapshot_id for r in rows if not (r.body_text or r.body_html)}:
            try:
                if snapshot_id is not None and key in self._content(snapshot_id)[0].keys:
                    return True
            except (TemplateInvalid, TemplateError, ContentSnapshot.DoesNotExist):
                continue  # the row fails when it is built
        return False

    def _links(self, rows: list[OutboxMessage]) -> dict[str, dict[int, dict[str, str]]]:
        """Consent links (preferences, unsubscribe, one-click) of the rows that carry them,
        per source (the campaign the unsubscribe is counted against), a query per source."""
        wanted: dict[str, list[int]] = {}
        for row in rows:
            if row.body_text or row.body_html or row.snapshot_id is None:
                continue
            try:
                content = self._content(row.snapshot_id)[0].content
            except (TemplateInvalid, TemplateError, ContentSnapshot.DoesNotExist):
                continue  # the row fails when it is built
            if content.carries_consent_links(row.message_class):
                wanted.setdefault(row.source, []).append(row.contact_id)
        return {source: consent_port.links_for_many(ids, campaign=source)
                for source, ids in wanted.items()}

    def _system_mime(self) -> MimeTemplate:
        if self._written_mime is None:
            self._written_mime = MimeTemplate(
                from_name=self.config.from_name, from_address=self.config.from_address,
                domain=self.config.domain)
        return self._written_mime

    def _send_sms(self, row: OutboxMessage, text: str, now) -> None:
        """Through the SMS channel's gateway (catcher, Kavenegar, SMS.ir); a refusal is retried
        like an SMTP 4xx until the attempts run out. Links in marketing and alert texts made
        from templates become short tracked links first (the stop footer, added by the
        channel, stays last); texts Peyvand writes itself are not tracked, as in e-mail."""
        written = bool(row.body_text or row.body_html)
        if not written and row.message_class in TRACKED_SMS and "://" in text:
            with self._turn():  # it may write (the links' rows): on SQLite senders take turns
                text = tracker().rewrite_sms(text, row.pk, contact_id=row.contact_id)
        accepted, reply = False, ""
        try:
            sent = sms.deliver(row.to_address, text, marketing=row.message_class == "marketing")
        except sms.SmsError as exc:
            reply = f"gateway: {exc}"
        except ValueError as exc:  # the number does not normalise
            reply = f"address: {exc}"
        else:
            tracker().sms_sent(sent, contact_id=row.contact_id, message_id=row.pk)
            accepted, reply = True, f"{sent.gateway} {sent.provider_id}"
        row.smtp_reply = reply[:500]
        if accepted:
            row.state, row.sent_at = S.SENT, now
        elif reply.startswith("gateway:") and row.attempts < outbox.MAX_ATTEMPTS:
            row.state, row.next_attempt_at = S.DEFERRED, outbox.retry_at(row.attempts, now)
        else:
            row.state = S.FAILED

    def _count(self, state: str) -> None:
        if state == S.SENT:
            self.stats.sent += 1
        elif state == S.DEFERRED:
            self.stats.deferred += 1
        elif state == S.FAILED:
            self.stats.failed += 1
