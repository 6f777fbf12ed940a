"""The click map: a variant's message as it was approved, each link marked with how many
people clicked it and their share of the clickers, so an owner sees where in the message
people clicked. Links are matched on their target without the utm_ parameters (the report
counts the URL the redirect led to, UTM included)."""

from __future__ import annotations

import re
from html import escape, unescape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from peyvand.base.dates import persian_digits

_ANCHOR = re.compile(r"(<a\b[^>]*\bhref\s*=\s*[\"'])([^\"']*)([\"'][^>]*>)", re.IGNORECASE)
BADGE = ("display:inline-block;margin-inline-end:4px;padding:1px 6px;border-radius:9px;"
         "background:#b7791f;color:#fff;font:bold 11px/1.4 sans-serif;text-decoration:none")


def link_key(url: str) -> str:
    """A link's identity for the map: its URL without utm_ parameters."""
    parts = urlsplit(unescape(url).strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def click_map(html: str, links: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """`html` with a badge on every link: unique clickers and their share of all clickers
    of the message's links; `marked` is how many links carry a badge."""
    unique: dict[str, int] = {}
    for link in links:
        key = link_key(link["url"])
        unique[key] = unique.get(key, 0) + link["unique"]
    everyone = sum(unique.values())
    marked = 0

    def badge(match: re.Match) -> str:
        nonlocal marked
        n = unique.get(link_key(match.group(2)))
        if n is None:
            return match.group(0)
        marked += 1
        share = f"{round(100 * n / everyone)}%" if everyone else "0%"
        text = f"{n} · {share}"
        if language == "fa":
            text = persian_digits(text).replace("%", "٪")
        return (match.group(0) + f'<span class="pv-clicks" data-clicks="{n}" '
                f'style="{BADGE}">{escape(text)}</span>')

    return {"html": _ANCHOR.sub(badge, html), "marked": marked, "clickers": everyone}
