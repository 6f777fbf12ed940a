"""The Persian catalogue is complete, its placeholders match, and the compiled .mo is current."""

from __future__ import annotations

import re
from pathlib import Path

import polib

import peyvand

LOCALE = Path(peyvand.__file__).parent / "locale" / "fa" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def test_every_message_has_a_persian_translation():
    po = polib.pofile(str(LOCALE / "django.po"))
    missing = [e.msgid for e in po if not e.obsolete and not e.translated()]
    assert missing == []
    assert po.fuzzy_entries() == []


def test_placeholders_survive_translation():
    po = polib.pofile(str(LOCALE / "django.po"))
    wrong = [e.msgid for e in po
             if sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(e.msgstr))]
    assert wrong == []


def test_compiled_catalogue_matches_the_source():
    po = {e.msgid: e.msgstr for e in polib.pofile(str(LOCALE / "django.po")) if e.msgid}
    mo = {e.msgid: e.msgstr for e in polib.mofile(str(LOCALE / "django.mo")) if e.msgid}
    assert mo == po, "run: msgfmt -o peyvand/locale/fa/LC_MESSAGES/django.mo …/django.po"
