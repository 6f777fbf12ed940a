"""Message templates: Jinja2 in a sandbox, RTL layout for Persian, CSS inlined, plain-text twin.

Authors write Jinja2 (`{{ first_name }}`, `{{ fields.city }}`, `{{ unsubscribe_url }}`); the
sandbox (messaging.sandbox) refuses attribute tricks and changes to the data, and stops a render
past its time, loop and size limits. A template is compiled once per broadcast
(`compile_template`) and rendered per recipient.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from typing import Any

import css_inline
from django.db.models import FilteredRelation, Q, QuerySet
from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SecurityError

from peyvand.base.errors import Invalid
from peyvand.base.templatetags.peyvand_ui import fadigits
from peyvand.messaging.sandbox import LimitedSandbox, render_budget

HTML_ENV = LimitedSandbox(autoescape=True, keep_trailing_newline=True)
TEXT_ENV = LimitedSandbox(autoescape=False, keep_trailing_newline=True)
# Per part: compiling is not under the render budget (2,000 tags compile in about 0.3 s), and
# mail programs clip a longer e-mail anyway (Gmail at 102 KB).
MAX_SOURCE = 100_000
MAX_TAGS = 2_000
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)

SAMPLE_CONTEXT: dict[str, Any] = {
    "first_name": "Sara", "last_name": "Ahmadi", "display_name": "Sara Ahmadi",
    "email": "sara@example.com", "emails": ["sara@example.com"], "phone": "+989121234567",
    "phones": ["+989121234567"], "language": "fa", "fields": {},
    "preferences_url": "https://example.com/p/x", "unsubscribe_url": "https://example.com/u/x",
    # as contexts_for gives them (recommendations_for), so a cross-sell block shows in previews
    "recommendations": [{"sku": "SAMPLE-1", "name": {"fa": "محصول نمونه", "en": "Sample product"},
                         "price": {"fa": "۱۲۰٬۰۰۰ تومان", "en": "IRT 120,000"}}],
}


# The sample person of a Persian template's preview: a Persian owner reads a Persian name.
_PERSIAN_SAMPLE = {"first_name": "سارا", "last_name": "احمدی", "display_name": "سارا احمدی"}


def sample_context(language: str) -> dict[str, Any]:
    """Sample data for a preview without a contact, in the template's language."""
    return {**SAMPLE_CONTEXT, **(_PERSIAN_SAMPLE if language == "fa" else {"language": "en"})}


class TemplateInvalid(Invalid):
    """A template that does not compile or render; `errors` by part (subject, html, text)."""


def _line_of(exc: BaseException) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return lineno
    # Sandbox violations happen while rendering: the template's own frame carries the line.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return None


def describe_error(exc: BaseException) -> str:
    line = _line_of(exc)
    if isinstance(exc, SecurityError):
        message = _("not allowed in a template (%(detail)s)") % {"detail": exc}
    else:
        message = getattr(exc, "message", None) or str(exc)
    return (_("line %(line)s: %(message)s") % {"line": line, "message": message}) if line \
        else str(message)


# --- layout ------------------------------------------------------------------------------------

_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.I)
_BODY_CLOSE = re.compile(r"</body\s*>", re.I)
_HTML_OPEN = re.compile(r"<html\b([^>]*)>", re.I)


def wrap_layout(html: str, language: str) -> str:
    """Make the HTML a whole document whose body text runs right-to-left for Persian."""
    direction = "rtl" if language == "fa" else "ltr"
    align = "right" if direction == "rtl" else "left"
    open_div = (f'<div dir="{direction}" lang="{language}" '
                f'style="direction:{direction};text-align:{align}">')
    if _BODY_OPEN.search(html):
        html = _BODY_OPEN.sub(lambda m: m.group(0) + open_div, html, count=1)
        html = _BODY_CLOSE.sub("</div></body>", html, count=1) if _BODY_CLOSE.search(html) \
            else html + "</div>"
        match = _HTML_OPEN.search(html)
        if match and "dir=" not in match.group(1).lower():
            html = html[:match.start()] + f'<html lang="{language}" dir="{direction}"' \
                + match.group(1) + ">" + html[match.end():]
        return html
    return (f'<!DOCTYPE html><html lang="{language}" dir="{direction}"><head>'
            f'<meta charset="utf-8"></head><body>{open_div}{html}</div></body></html>')


class _TextOf(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "section", "article", "header", "footer", "blockquote", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.href: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "head", "title"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "a":
            self.href.append(dict(attrs).get("href"))
        if tag == "li":
            self.out.append("- ")

    def handle_endtag(self, tag):
        if tag in ("style", "script", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and not href.startswith("#"):
                self.out.append(f" ({href})")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def text_from_html(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# --- compile and render ------------------------------------------------------------------------

@dataclass
class Compiled:
    subject: Any
    html: Any
    text: Any
    inline_each: bool  # CSS depends on per-recipient blocks: inline after rendering

    def render(self, context: dict[str, Any]) -> tuple[str, str, str]:
        with render_budget():  # one budget for the three parts
            subject = " ".join(self.subject.render(context).split())
            html = self.html.render(context) if self.html is not None else ""
            if html and self.inline_each:
                html = _INLINER.inline(html)
            text = self.text.render(context)
        return subject, html, text

    def render_for_author(self, context: dict[str, Any]) -> tuple[str, str, str]:
        """As render, but a failure is a TemplateInvalid saying which part and line."""
        errors: dict[str, str] = {}
        rendered: dict[str, str] = {}
        with render_budget():
            for name in ("subject", "html", "text"):
                template = getattr(self, name)
                try:
                    rendered[name] = template.render(context) if template is not None else ""
                except Exception as exc:  # noqa: BLE001 (any render failure is the author's)
                    errors[name] = describe_error(exc)
            if errors:
                raise TemplateInvalid(errors)
            html = rendered["html"]
            if html and self.inline_each:
                html = _INLINER.inline(html)
        return " ".join(rendered["subject"].split()), html, rendered["text"]


# Put in the head of HTML made from blocks (messaging.blocks): MJML inlines its styles itself,
# and what it leaves in <style> (media queries that stack columns on phones) must stay there.
DESIGNED_MARKER = '<meta name="generator" content="peyvand-blocks">'


def _needs_inline(html: str) -> bool:
    return "<style" in html.lower() and DESIGNED_MARKER not in html


def compile_parts(subject: str, html: str, text: str, language: str) -> Compiled:
    """Compile the three parts; raises TemplateInvalid with "line N: ..." per field."""
    errors: dict[str, str] = {}
    compiled: dict[str, Any] = {}
    for name, source in (("subject", subject), ("html", html), ("text", text)):
        if len(source) > MAX_SOURCE:
            errors[name] = _("Keep it under %(limit)s characters.") % {
                "limit": fadigits(f"{MAX_SOURCE:,}")}
        elif source.count("{{") + source.count("{%") > MAX_TAGS:
            errors[name] = _("Use at most %(limit)s {{ … }} and {%% … %%} tags.") % {
                "limit": fadigits(f"{MAX_TAGS:,}")}
    if errors:
        raise TemplateInvalid(errors)
    source_html = wrap_layout(html, language) if html.strip() else ""
    inline_each = False
    if source_html and _needs_inline(source_html):
        if "{%" in source_html:
            inline_each = True  # inlining would move Jinja blocks around tables
        else:
            source_html = _INLINER.inline(source_html)
    text_source = text if text.strip() else (text_from_html(html) if html.strip() else "")
    for name, env, source in (("subject", TEXT_ENV, subject), ("html", HTML_ENV, source_html),
                              ("text", TEXT_ENV, text_source)):
        if name == "html" and not source:
            compiled[name] = None
            continue
        try:
            compiled[name] = template = env.from_string(source)
            # Globals as a plain dict, not Jinja's ChainMap (these environments' globals never
            # change): every render copies them into a new context, and a ChainMap is read
            # key by key in Python, about half of what a short template's render cost.
            template.globals = dict(template.globals)
        except TemplateSyntaxError as exc:
            # The wrapper adds no newlines before the author's first line, so lines match.
            errors[name] = describe_error(exc)
    if errors:
        raise TemplateInvalid(errors)
    result = Compiled(compiled["subject"], compiled["html"], compiled["text"], inline_each)
    result.render_for_author(SAMPLE_CONTEXT)  # sandbox violations show only when rendering
    return result


def compile_template(template) -> Compiled:
    return compile_parts(template.subject, template.html, template.text, template.language)


# --- merge fields ------------------------------------------------------------------------------

@cache
def _merge_field_queries() -> tuple[QuerySet, QuerySet, dict[str, int]]:
    """The two queries contexts_for narrows to its contacts, built once: the sender asks for
    every chunk of messages, and building a query costs more than running it. Plain rows, not
    model instances; e-mail addresses and phones joined to their contacts; no sorting.
    (.filter() copies a query, so these are never changed.)"""
    from peyvand.contacts.models import Contact, FieldValue

    contacts = Contact.objects.order_by().annotate(
        address=FilteredRelation("identities",
                                 condition=Q(identities__kind__in=("email", "phone")))
    ).values_list("id", "first_name", "last_name", "language", "timezone", "erased_at",
                  "address__kind", "address__value", "address__is_primary", "address__id")
    columns = list(dict.fromkeys(FieldValue.COLUMN.values()))
    field_values = FieldValue.objects.values_list("contact_id", "field__key", "field__type",
                                                  *columns)
    column_of = {kind: columns.index(column) for kind, column in FieldValue.COLUMN.items()}
    return contacts, field_values, column_of


def contexts_for(contact_ids: list[int], *, links: bool = True, campaign: str = "",
                 recommendations: bool = False) -> dict[int, dict[str, Any]]:
    """Merge fields for many contacts in a fixed number of queries. `recommendations`: each
    contact's cross-sell products too (recommendations_for: two more queries), for content
    that reads them (a cross-sell block)."""
    from peyvand.contacts.models import display_name
    from peyvand.messaging import consent_port

    contacts, field_values, column_of = _merge_field_queries()
    contexts: dict[int, dict[str, Any]] = {}
    addresses: dict[int, list[tuple[bool, int, str, str]]] = {}
    for pk, first_name, last_name, language, zone, erased_at, kind, value, primary, \
            identity_id in contacts.filter(pk__in=contact_ids):
        if pk not in contexts:
            contexts[pk] = {"first_name": first_name, "last_name": last_name,
                            "display_name": display_name(pk, first_name, last_name,
                                                         erased_at),
                            "language": language, "timezone": zone, "emails": [],
                            "phones": [], "fields": {}, "email": "", "phone": ""}
        if kind is not None:
            addresses.setdefault(pk, []).append((not primary, identity_id, kind, value))
    for pk, held in addresses.items():
        for _secondary, _id, kind, value in sorted(held):  # primary first, then oldest
            contexts[pk][kind + "s"].append(value)
    for contact_id, key, kind, *values in field_values.filter(contact_id__in=contact_ids):
        ctx = contexts.get(contact_id)
        if ctx is not None:
            ctx["fields"][key] = values[column_of[kind]]  # as FieldValue.value picks it
    recommended = recommendations_for(list(contexts)) if recommendations else {}
    all_links = consent_port.links_for_many(list(contexts), campaign=campaign) if links else {}
    for contact_id, ctx in contexts.items():
        ctx["email"] = ctx["emails"][0] if ctx["emails"] else ""
        ctx["phone"] = ctx["phones"][0] if ctx["phones"] else ""
        if recommendations:
            ctx["recommendations"] = recommended.get(contact_id, [])
        if links:
            found = all_links[contact_id]
            ctx["preferences_url"] = found["preferences"]
            ctx["unsubscribe_url"] = found["unsubscribe"]
            ctx["one_click_url"] = found["one_click"]
    return contexts


# How many recommendations each contact's merge data holds (a cross-sell block shows 1 to 6).
RECOMMENDATIONS = 6


def recommendations_for(contact_ids: list[int], limit: int = RECOMMENDATIONS) \
        -> dict[int, list[dict[str, Any]]]:
    """insights.crosssell.for_contact for many contacts in two queries (what they bought, then
    the rules of those products), ranked the same way: products bought with what the contact
    has, that they do not have yet, scored by the sum of confidences (rules with lift > 1).
    Each: {"sku", "name": {"fa", "en"}, "price": {"fa", "en"}}, plain data for the merge
    record."""
    from peyvand.commerce.models import OrderLine
    from peyvand.commerce.money import format_money
    from peyvand.commerce.queries import revenue_orders
    from peyvand.insights.models import ProductAssociation

    if not contact_ids:
        return {}
    owned: dict[int, set[int]] = {}
    for contact_id, product_id in OrderLine.objects.filter(
            order__in=revenue_orders().filter(contact_id__in=contact_ids),
            product__isnull=False).values_list("order__contact_id", "product_id").distinct():
        owned.setdefault(contact_id, set()).add(product_id)
    if not owned:
        return {}
    rules: dict[int, list[tuple]] = {}
    for rule in ProductAssociation.objects.filter(
            product_id__in=set().union(*owned.values()), lift__gt=1,
            related__active=True).values_list(
                "product_id", "related_id", "confidence", "lift", "related__sku",
                "related__name_fa", "related__name_en", "related__price", "related__currency"):
        rules.setdefault(rule[0], []).append(rule)
    out: dict[int, list[dict[str, Any]]] = {}
    for contact_id, products in owned.items():
        best: dict[int, list] = {}  # related -> [score, best (lift, confidence), row]
        for product_id in products:
            for row in rules.get(product_id, ()):
                if row[1] in products:
                    continue
                entry = best.setdefault(row[1], [0.0, (row[3], row[2]), row])
                entry[0] += row[2]
                entry[1] = max(entry[1], (row[3], row[2]))
        ranked = sorted(best.values(), key=lambda e: (-e[0], -e[1][0], e[2][4]))[:limit]
        out[contact_id] = [{
            "sku": sku,
            "name": {"fa": name_fa or name_en or sku, "en": name_en or name_fa or sku},
            "price": {lang: format_money(price, currency, lang)
                      for lang in ("fa", "en")}}
            for _s, _b, (_p, _r, _c, _l, sku, name_fa, name_en, price, currency) in ranked]
    return out
