"""What a message says: a template's words frozen as a snapshot (what an approval approves and
the sender renders), the unsubscribe footer every marketing e-mail carries, and the record of
what one person received (the snapshot's digest plus the merge data it was rendered with).

Rendering is the same here for the sender, the reviewer's preview and the answer to "what did
this person receive", so the three cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from types import SimpleNamespace
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from jinja2 import meta

from peyvand.messaging.models import Channel, ContentSnapshot, MessageClass, MessageTemplate
from peyvand.messaging.templates_engine import HTML_ENV, TEXT_ENV, Compiled, compile_parts

# What a snapshot freezes, in the order the digest reads them.
SNAPSHOT_FIELDS = ("language", "channel", "topic", "message_class", "content_type", "subject",
                   "html", "text")
# Per-send links: not content, and regenerable (kept out of the merge data).
LINK_KEYS = frozenset({"preferences_url", "unsubscribe_url", "one_click_url"})
# Canonical JSON of merge data; made once (json.dumps would make an encoder per message).
_MERGE_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                               default=str)
# Links shown where a message is rendered again, for a preview or a record.
PLACEHOLDER_LINKS = {"preferences_url": "https://example.invalid/preferences",
                     "unsubscribe_url": "https://example.invalid/unsubscribe",
                     "one_click_url": "https://example.invalid/unsubscribe/one-click"}


def content_digest(content: Any) -> str:
    """sha256 of a template's or a snapshot's words (the fields a snapshot freezes, and the
    sender's name when a campaign variant gives its own: only then, so every digest made
    before sender names existed stays the same)."""
    data: list[Any] = [getattr(content, f) for f in SNAPSHOT_FIELDS]
    sender = getattr(content, "from_name", "")
    if sender:
        data.append({"from_name": sender})
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def freeze(template: MessageTemplate, **overrides: str) -> ContentSnapshot:
    """The snapshot of the template's words as they are now (the same row for the same
    words); `overrides` replace frozen fields (a campaign variant's subject or sender name, a
    test send's marked subject) without touching the template."""
    words = {f: overrides.get(f, getattr(template, f)) for f in SNAPSHOT_FIELDS}
    sender = overrides.get("from_name", "")
    snapshot, _created = ContentSnapshot.objects.get_or_create(
        template=template, digest=content_digest(SimpleNamespace(**words, from_name=sender)),
        defaults={"template_name": template.name, "from_name": sender, **words})
    return snapshot


def needs_footer(content: Any) -> bool:
    """Marketing e-mail gets an unsubscribe footer wherever its template lacks the link."""
    return content.channel == Channel.EMAIL and content.message_class == MessageClass.MARKETING


def lacks_unsubscribe_link(content: Any) -> bool:
    """For the template editor: does a part lack {{ unsubscribe_url }}, so that a footer
    will be added? (The sender looks at each rendered message itself.)"""
    text = content.text if content.text.strip() else content.html
    return needs_footer(content) and any(
        part.strip() and "unsubscribe_url" not in part for part in (content.html, text))


@dataclass
class Prepared:
    """A snapshot (or a template, for a preview) compiled once, for many renders."""

    content: Any
    compiled: Compiled
    keys: tuple[str, ...]  # the merge fields its parts read
    footer: bool
    digest: str

    def render(self, context: dict[str, Any], *, for_author: bool = False) \
            -> tuple[str, str, str]:
        """(subject, html, text) for one person, with the unsubscribe footer in their
        language where a marketing e-mail's part lacks their unsubscribe link. `for_author`:
        a failure is a TemplateInvalid naming the part and line (previews)."""
        render = self.compiled.render_for_author if for_author else self.compiled.render
        subject, html, text = render(context)
        if self.footer:
            language = context.get("language")
            html, text = add_footer(html, text, context.get("unsubscribe_url") or "",
                                    language if language in ("fa", "en")
                                    else self.content.language)
        return subject, html, text

    def record(self, context: dict[str, Any]) -> tuple[str, str]:
        """(merge data as canonical JSON, content digest) of one render: enough to render
        the message again and to show it is the one sent."""
        merge = _MERGE_JSON.encode({k: context[k] for k in self.keys if k in context})
        return merge, hashlib.sha256((self.digest + merge).encode()).hexdigest()


def prepare(content: Any) -> Prepared:
    """Compile a snapshot (or a template) for rendering; raises TemplateInvalid."""
    compiled = compile_parts(content.subject, content.html, content.text, content.language)
    names: set[str] = {"language"}  # the footer follows it
    for env, source in ((TEXT_ENV, content.subject), (HTML_ENV, content.html),
                        (TEXT_ENV, content.text)):
        if source.strip():
            names |= meta.find_undeclared_variables(env.parse(source))
    digest = content.digest if isinstance(content, ContentSnapshot) else content_digest(content)
    return Prepared(content, compiled, tuple(sorted(names - LINK_KEYS)), needs_footer(content),
                    digest)


# --- the footer ----------------------------------------------------------------------------

_URL = "\x00url\x00"  # where the link goes in a prepared footer


@lru_cache(maxsize=4)
def _footer(language: str) -> tuple[str, str]:
    """(HTML, text) footer in this language, with _URL for the link; made once per process."""
    with translation.override(language):
        note = _("You receive this e-mail because you subscribed to it.")
        link = _("Unsubscribe")
        line = _("To unsubscribe, open: %(url)s") % {"url": _URL}
    direction, align = ("rtl", "right") if language == "fa" else ("ltr", "left")
    html = (f'<div dir="{direction}" lang="{language}" data-unsubscribe-footer '
            f'style="direction:{direction};text-align:{align};font-size:12px;color:#666;'
            f'margin-top:24px">{escape(note)} <a href="{_URL}">{escape(link)}</a></div>')
    return html, f"\n-- \n{note}\n{line}\n"


def add_footer(html: str, text: str, url: str, language: str) -> tuple[str, str]:
    """Add the unsubscribe footer to each part that does not hold `url` already."""
    if not url:
        return html, text
    footer_html, footer_text = _footer(language)
    href = escape(url)
    if html and href not in html:
        block = footer_html.replace(_URL, href)
        end = html.rfind("</body>")
        html = html[:end] + block + html[end:] if end >= 0 else html + block
    if url not in text:
        text = text.rstrip("\n") + "\n" + footer_text.replace(_URL, url)
    return html, text
