"""Audit actions, job kinds and import counts are shown in words, never as stored keys."""

from __future__ import annotations

import decimal
import re
from pathlib import Path

from django.utils import translation

import peyvand
from peyvand.base.activity_labels import (
    AUDIT_ACTIONS,
    audit_action_label,
    counts_in_words,
    humanise,
    job_kind_fallback,
    target_type_label,
)
from peyvand.base.templatetags.peyvand_ui import audit_summary

ROOT = Path(peyvand.__file__).parent


def test_every_action_the_code_records_has_words():
    written = set()
    for path in ROOT.rglob("*.py"):
        written |= set(re.findall(r'record_audit\(\s*[\w.]+,\s*"([^"]+)"', path.read_text()))
    assert written, "the scan found no record_audit calls"
    assert sorted(written - set(AUDIT_ACTIONS)) == []


def test_labels_follow_the_language():
    with translation.override("en"):
        assert audit_action_label("messaging.broadcast_created") == "Broadcast created"
        assert target_type_label("strategy_rule") == "Sending rule"
        assert job_kind_fallback("orders.import") == "Order import"
    with translation.override("fa"):
        # Persian once the catalogue has it (the lead merges /work/notes/fa/*.json).
        assert audit_action_label("messaging.broadcast_created") == translation.gettext(
            "Broadcast created")
    # An unknown key still reads as words.
    assert humanise("shop.thing_done") == "Thing done"
    assert audit_action_label("shop.thing_done") == "Thing done"


def test_import_counts_read_as_words_with_the_page_digits():
    assert counts_in_words("read=5 created=3") == [("rows read", 5), ("created", 3)]
    assert counts_in_words("hello (marketing)") is None
    with translation.override("en"):
        assert audit_summary("read=5 created=3") == "5 rows read, 3 created"
        assert str(audit_summary("hello")) == '<bdi dir="ltr">hello</bdi>'
    with translation.override("fa"):
        text = audit_summary("read=12 rejected=0")
        assert "۱۲" in text and "،" in text and not re.search(r"[0-9=]", text)


def test_the_persian_comma_only_on_persian_pages():
    from django.template import Context, Template

    tpl = Template("{% load peyvand_ui %}a{% list_separator %}b")
    with translation.override("en"):
        assert tpl.render(Context()) == "a, b"
    with translation.override("fa"):
        assert tpl.render(Context()) == "a، b"


def test_fadigits_gives_a_number_its_persian_marks():
    from peyvand.base.templatetags.peyvand_ui import fadigits

    with translation.override("fa"):
        assert fadigits("1,250,000") == "۱٬۲۵۰٬۰۰۰"
        assert fadigits(decimal.Decimal("12.5")) == "۱۲٫۵"
        assert fadigits("20%") == "۲۰٪"
        assert fadigits(7) == "۷"
        # Inside a sentence: the marks beside digits; dates and times keep theirs.
        assert fadigits("1403/05/12 09:47") == "۱۴۰۳/۰۵/۱۲ ۰۹:۴۷"
        assert fadigits("دست‌کم 0.5 برابر، 20% و 1,250 سفارش.") == \
            "دست‌کم ۰٫۵ برابر، ۲۰٪ و ۱٬۲۵۰ سفارش."
    with translation.override("en"):
        assert fadigits("12.5") == "12.5"
