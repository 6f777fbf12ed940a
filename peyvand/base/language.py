"""The active UI language as Peyvand knows it, and what differs by it in plain text."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import get_language

from peyvand.base.dates import persian_digits


def page_language() -> str:
    """The active UI language: "fa" or "en"."""
    return "fa" if (get_language() or "").startswith("fa") else "en"


def local_digits(value: object) -> str:
    """A number (or text holding one) with the page's digits: Persian on a Persian page."""
    return persian_digits(str(value)) if page_language() == "fa" else str(value)


def join_list(items: Iterable[object]) -> str:
    """Items in a line, with the Persian comma on a Persian page."""
    return ("، " if page_language() == "fa" else ", ").join(str(i) for i in items)
