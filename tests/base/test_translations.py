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
    wrong = []
    for e in po:
        wanted = sorted(PLACEHOLDER.findall(e.msgid))
        texts = list(e.msgstr_plural.values()) if e.msgid_plural else [e.msgstr]
        if any(sorted(PLACEHOLDER.findall(t)) != wanted for t in texts):
            wrong.append(e.msgid)
    assert wrong == []


def test_compiled_catalogue_matches_the_source():
    def texts(catalogue):
        return {e.msgid: e.msgstr or dict(e.msgstr_plural) for e in catalogue if e.msgid}

    po = texts(polib.pofile(str(LOCALE / "django.po")))
    mo = texts(polib.mofile(str(LOCALE / "django.mo")))
    assert mo == po, "run: msgfmt -o peyvand/locale/fa/LC_MESSAGES/django.mo …/django.po"
