"""E-mail designed from blocks: the grammar, its validation and its rendering.

A designed template keeps a list of blocks (`MessageTemplate.blocks`); on save its `html` is
made from them through MJML (mjml-python, the Rust port: no Node, no network) and its `text`
from the blocks themselves (`design`, called by actions.check_template). Author text may hold
merge fields (`{{ first_name }}`): they stay Jinja for the sandbox to render per contact.
How blocks are written out is in blocks_render.

Blocks: heading {text, level}, text {text}, image {src, alt, href?}, button {label, href},
divider, columns {columns: [[simple blocks] × 2 or 3]}, products {skus, links?},
cross_sell {limit, title?}, coupon {code?, text?}, footer {text}.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError

from peyvand.base.errors import Invalid
from peyvand.messaging.blocks_render import SIMPLE, TAG, build, mjml_to_html
from peyvand.messaging.templates_engine import DESIGNED_MARKER, RECOMMENDATIONS, TEXT_ENV

__all__ = ["SIMPLE", "TYPES", "BlocksInvalid", "check_blocks", "design", "given_blocks",
           "mjml_to_html", "render_blocks", "to_mjml", "type_label"]

TYPES = (*SIMPLE, "columns", "products", "cross_sell", "coupon", "footer")
MAX_BLOCKS = 40  # each block is about 1.5 KB of HTML; compile_parts stops at 100,000 chars
MAX_IN_COLUMN = 8
MAX_PRODUCTS = 12
MAX_RECOMMENDATIONS = RECOMMENDATIONS  # as many as contexts_for gives each contact
_LINK = re.compile(r"(https?://[^\s\"'<>]+|mailto:[^\s\"'<>]+|tel:[+0-9 ()-]+)")
_IMAGE = re.compile(r"https://[^\s\"'<>]+|/media/[^\s\"'<>]+")
_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")


class BlocksInvalid(Invalid):
    """Blocks refused: `errors` keyed "blocks.<index>.<field>", each reason naming both."""


def type_label(kind: str) -> str:
    return {"heading": _("Heading"), "text": _("Text"), "image": _("Image"),
            "button": _("Button"), "divider": _("Divider"), "columns": _("Columns"),
            "products": _("Products"), "cross_sell": _("Recommendations"),
            "coupon": _("Coupon"), "footer": _("Footer")}.get(kind, kind)


def _field_label(name: str) -> str:
    """The field as the editor names it (a product's link is named by its SKU)."""
    return {"text": _("text"), "level": _("size"), "src": _("image address"),
            "alt": _("description"), "href": _("link"), "label": _("button text"),
            "columns": _("columns"), "skus": _("products"), "limit": _("how many"),
            "title": _("title"), "code": _("code"), "type": _("type")}.get(name, name)


# --- validation --------------------------------------------------------------------------------

class _Checker:
    """Collects the reasons, each keyed by where it is and saying so in words."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def refuse(self, where: tuple[tuple[int, str], ...], field: str, reason: str) -> None:
        key = "blocks." + ".".join(f"{i}" for i, _kind in where) + (f".{field}" if field else "")
        place = ", ".join(_("column %(n)s") % {"n": i + 1} if kind == "column" else
                          _("block %(n)s (%(type)s)") % {"n": i + 1, "type": type_label(kind)}
                          for i, kind in where)
        self.errors.setdefault(key, f"{place[:1].upper()}{place[1:]}"
                               + (f", {_field_label(field)}" if field else "") + f": {reason}")

    def text(self, raw: dict, name: str, where, *, limit: int, required: bool = False) -> str:
        value = raw.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.refuse(where, name, _("write it as text."))
            return ""
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        if required and not value:
            self.refuse(where, name, _("it cannot be empty."))
        elif len(value) > limit:
            self.refuse(where, name, _("keep it under %(limit)s characters.") % {"limit": limit})
        else:
            try:
                TEXT_ENV.parse(value)
            except TemplateSyntaxError as exc:
                self.refuse(where, name, _("a merge field is not closed or not valid (%(e)s).")
                            % {"e": exc.message})
        return value

    def link(self, raw: dict, name: str, where, *, required: bool = False) -> str:
        value = self.text(raw, name, where, limit=2000, required=required)
        bare = TAG.sub("", value)
        if value and not (_LINK.fullmatch(bare) or (not bare and value.startswith("{{"))):
            self.refuse(where, name, _("write a full address (https://…), mailto:, tel: or "
                                       "a merge field such as {{ preferences_url }}."))
        return value


def _check_simple(c: _Checker, kind: str, raw: dict, where) -> dict[str, Any]:
    if kind == "heading":
        level = raw.get("level", 2)
        if str(level) not in ("1", "2", "3") or isinstance(level, bool):
            c.refuse(where, "level", _("choose 1, 2 or 3."))
            level = 2
        return {"type": kind, "text": c.text(raw, "text", where, limit=300, required=True),
                "level": int(level)}
    if kind == "text":
        return {"type": kind, "text": c.text(raw, "text", where, limit=5000, required=True)}
    if kind == "image":
        src = c.text(raw, "src", where, limit=2000, required=True)
        if src and (not _IMAGE.fullmatch(src) or ".." in src):
            c.refuse(where, "src", _("give an https:// address or a /media/ path."))
        return {"type": kind, "src": src, "alt": c.text(raw, "alt", where, limit=300),
                "href": c.link(raw, "href", where)}
    if kind == "button":
        return {"type": kind, "label": c.text(raw, "label", where, limit=100, required=True),
                "href": c.link(raw, "href", where, required=True)}
    return {"type": "divider"}


def _check_block(c: _Checker, raw: Any, where, skus: dict[str, list]) -> dict[str, Any]:
    kind = raw.get("type") if isinstance(raw, dict) else None
    where = (*where[:-1], (where[-1][0], kind if isinstance(kind, str) else "?"))
    if kind not in TYPES:
        c.refuse(where, "type", _("unknown block type; use one of %(types)s.")
                 % {"types": ", ".join(TYPES)})
        return {}
    assert isinstance(raw, dict)
    if kind in SIMPLE:
        return _check_simple(c, kind, raw, where)
    if kind == "columns":
        columns = raw.get("columns")
        if not isinstance(columns, list) or len(columns) not in (2, 3):
            c.refuse(where, "columns", _("give 2 or 3 columns."))
            return {"type": kind, "columns": []}
        clean: list[list[dict[str, Any]]] = []
        for n, column in enumerate(columns):
            at = (*where, (n, "column"))
            if not isinstance(column, list) or len(column) > MAX_IN_COLUMN:
                c.refuse(at, "", _("a column is a list of at most %(n)s blocks.")
                         % {"n": MAX_IN_COLUMN})
                clean.append([])
                continue
            inner = []
            for j, item in enumerate(column):
                kind_j = item.get("type") if isinstance(item, dict) else None
                if kind_j not in SIMPLE:
                    c.refuse((*at, (j, str(kind_j))), "type", _(
                        "a column holds headings, text, images, buttons and dividers."))
                    continue
                inner.append(_check_simple(c, kind_j, item, (*at, (j, kind_j))))
            clean.append(inner)
        return {"type": kind, "columns": clean}
    if kind == "products":
        given = raw.get("skus")
        if not isinstance(given, list) or not given or len(given) > MAX_PRODUCTS or \
                not all(isinstance(s, str) and 0 < len(s.strip()) <= 100 for s in given):
            c.refuse(where, "skus", _("pick 1 to %(n)s products by SKU.") % {"n": MAX_PRODUCTS})
            return {"type": kind, "skus": [], "links": {}}
        names = list(dict.fromkeys(s.strip() for s in given))
        for sku in names:
            skus.setdefault(sku, []).append(where)
        links_raw = raw["links"] if isinstance(raw.get("links"), dict) else {}
        links = {sku: c.link(links_raw, sku, where) for sku in names if links_raw.get(sku)}
        return {"type": kind, "skus": names, "links": {k: v for k, v in links.items() if v}}
    if kind == "cross_sell":
        limit = raw.get("limit", 3)
        if isinstance(limit, bool) or str(limit) not in {str(n) for n in
                                                         range(1, MAX_RECOMMENDATIONS + 1)}:
            c.refuse(where, "limit", _("show 1 to %(n)s products.") % {"n": MAX_RECOMMENDATIONS})
            limit = 3
        return {"type": kind, "limit": int(limit),
                "title": c.text(raw, "title", where, limit=300)}
    if kind == "coupon":
        code = c.text(raw, "code", where, limit=40)
        if code and not _CODE.fullmatch(code):
            c.refuse(where, "code", _("use letters, digits, - and _ only."))
        return {"type": kind, "code": code, "text": c.text(raw, "text", where, limit=300)}
    return {"type": "footer", "text": c.text(raw, "text", where, limit=1000)}


def check_blocks(blocks: Any, language: str) -> list[dict[str, Any]]:
    """The blocks cleaned (unknown keys dropped, text trimmed), or BlocksInvalid naming each
    block and field that is wrong. Products are looked up in one query."""
    from peyvand.commerce.models import Product

    c = _Checker()
    if not isinstance(blocks, list):
        raise BlocksInvalid({"blocks": _("Blocks must be a list.")})
    if len(blocks) > MAX_BLOCKS:
        raise BlocksInvalid({"blocks": _("Use at most %(n)s blocks.") % {"n": MAX_BLOCKS}})
    skus: dict[str, list] = {}
    clean = [_check_block(c, raw, ((i, "?"),), skus) for i, raw in enumerate(blocks)]
    if skus:
        found = dict(Product.objects.filter(sku__in=list(skus)).values_list("sku", "active"))
        for sku, places in skus.items():
            if sku not in found:
                reason = _("there is no product with SKU “%(sku)s”.") % {"sku": sku}
            elif not found[sku]:
                reason = _("the product “%(sku)s” is not active.") % {"sku": sku}
            else:
                continue
            for where in places:
                c.refuse(where, "skus", reason)
    if c.errors:
        raise BlocksInvalid(c.errors)
    return clean


# --- rendering ---------------------------------------------------------------------------------

def to_mjml(blocks: list[dict[str, Any]], language: str, subject: str) -> str:
    """The MJML of checked blocks, merge tags as the author wrote them."""
    w, mjml = build(blocks, language, subject)
    return w.restore(mjml)


def render_blocks(blocks: list[dict[str, Any]], language: str, subject: str) -> tuple[str, str]:
    """(html, text) of checked blocks: Jinja sources, rendered per contact by the sandbox."""
    w, mjml = build(blocks, language, subject)
    try:
        html = mjml_to_html(mjml)
    except Exception as exc:  # noqa: BLE001 (MRML's errors are plain exceptions)
        raise BlocksInvalid({"blocks": _("The design could not be built: %(e)s") % {"e": exc}})
    html = html.replace("<head>", "<head>" + DESIGNED_MARKER, 1)
    return w.restore(html), w.twin()


# --- on save -----------------------------------------------------------------------------------

def given_blocks(raw: dict[str, Any], errors: dict[str, str]) -> list:
    """The blocks given: a list (API) or its JSON (the web form); [] for an HTML template."""
    value = raw.get("blocks")
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            errors["blocks"] = _("The blocks are not valid JSON.")
            return []
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        errors["blocks"] = _("Blocks must be a list.")
        return []
    return value


def design(clean: dict[str, Any], blocks: list, template: Any, errors: dict[str, str]) -> None:
    """A designed e-mail: check the blocks and make its html, and its text unless the author
    wrote one (a text that is empty, or the one the blocks made last time, is made again).
    `clean` is actions.check_template's; `template` the one being changed, or None."""
    try:
        clean["blocks"] = check_blocks(blocks, clean["language"])
        html, text = render_blocks(clean["blocks"], clean["language"], clean["subject"])
    except Invalid as exc:
        errors.update(exc.errors)
        return
    given = clean["text"].replace("\r\n", "\n").strip()
    if not given or (template is not None and template.blocks
                     and given == template.text.replace("\r\n", "\n").strip()
                     and _made(template)):
        clean["text"] = text
    clean["html"] = html


def _made(template: Any) -> bool:
    """Whether the template's text is the one its blocks make (not the author's own)."""
    try:
        made = render_blocks(check_blocks(template.blocks, template.language),
                             template.language, template.subject)[1]
    except Invalid:  # a product gone since: the text cannot be told apart, so it is kept
        return False
    return made.strip() == template.text.replace("\r\n", "\n").strip()
