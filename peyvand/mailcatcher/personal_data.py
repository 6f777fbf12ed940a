"""Erasure of caught mail and SMS: the catcher stands in for the person's own mailbox and
phone, so what it kept for them is deleted whole. Registered from MailcatcherConfig.ready."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from peyvand.base.scrub import Needles, stored_text_filter
from peyvand.mailcatcher.models import CaughtMail, CaughtSms


def _mail_naming(needles: Needles, since: dt.datetime | None) -> set[int]:
    """Caught mail addressed to the person, or whose bytes hold one of their addresses."""
    mail = CaughtMail.objects.filter(received_at__gte=since) if since else CaughtMail.objects
    ids = set(mail.filter(stored_text_filter(needles, "to") | stored_text_filter(
        needles, "mail_from")).values_list("pk", flat=True))
    forms: list[Any] = [form.encode() for form in needles.stored_forms()]
    if forms:
        test = ("position(%s::bytea in raw) > 0" if connection.vendor == "postgresql"
                else "instr(raw, %s) > 0")
        table = connection.ops.quote_name(CaughtMail._meta.db_table)
        sql = f"SELECT id FROM {table} WHERE (" + " OR ".join([test] * len(forms)) + ")"
        if since:
            sql += " AND received_at >= %s"
            forms.append(connection.ops.adapt_datetimefield_value(since))
        with connection.cursor() as cursor:
            cursor.execute(sql, forms)
            ids.update(pk for (pk,) in cursor.fetchall())
    return ids


def erase_copies(needles: Needles, since: dt.datetime | None = None) -> dict[str, int]:
    """contacts erase-copies hook."""
    mail = CaughtMail.objects.filter(pk__in=_mail_naming(needles, since)).delete()[0]
    texts = CaughtSms.objects.filter(to__in=needles.stored_forms())
    if since:
        texts = texts.filter(created_at__gte=since)
    return {"caught_mail": mail, "caught_sms": texts.delete()[0]}
