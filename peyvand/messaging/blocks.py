"""E-mail designed from blocks: the grammar, its validation and its rendering.

A designed template keeps a list of blocks (`MessageTemplate.blocks`); on save its `html` is
made from them through MJML (mjml-python, the Rust port: no Node, no network) and its `text`
from the blocks themselves. Author text may hold merge fields (`{{ first_name }}`): they are
kept as Jinja for the sandbox to render per contact. Everything else put into the output
(product names, labels) is made inert for Jinja. Every author text is escaped for XML, and
Jinja tags are swapped for placeholders while MJML runs, so MJML never sees or mangles them.

Blocks: heading {text, level}, text {text}, image {src, alt, href?}, button {label, href},
divider, columns {columns: [[simple blocks] × 2 or 3]}, products {skus, links?},
cross_sell {limit, title?}, coupon {code?, text?}, footer {text}.
"""

from __future__ import annotations

import re
import secrets
from html import escape
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError
from mjml import mjml2html

from peyvand.base.errors import Invalid
from peyvand.base.site import public_url
from peyvand.messaging.templates_engine import DESIGNED_MARKER, TEXT_ENV

SIMPLE = ("heading", "text", "image", "button", "divider")
TYPES = (*SIMPLE, "columns", "products", "cross_sell", "coupon", "footer")
MAX_BLOCKS = 40  # each block is about 1.5 KB of HTML; compile_parts stops at 100,000 chars
MAX_IN_COLUMN = 8
MAX_PRODUCTS = 12
MAX_RECOMMENDATIONS = 6  # templates_engine.contexts_for fills this many per contact
PER_ROW = 3  # product cards side by side on a wide screen (they stack on a phone)
ACCENT = "#0b6a6a"  # the UI's accent colour
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
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
                               + (f", {field}" if field else "") + f": {reason}")

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
        bare = _TAG.sub("", value)
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
        clean = []
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
                not all(isinstance(s, str) and s.strip() for s in given):
            c.refuse(where, "skus", _("pick 1 to %(n)s products by SKU.") % {"n": MAX_PRODUCTS})
            return {"type": kind, "skus": [], "links": {}}
        names = list(dict.fromkeys(s.strip() for s in given))
        for sku in names:
            skus.setdefault(sku, []).append(where)
        links_raw = raw.get("links") if isinstance(raw.get("links"), dict) else {}
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

def _html(value: str) -> str:
    """Catalogue data and labels in HTML: escaped, and braces made inert for Jinja."""
    return escape(value).replace("{", "&#123;").replace("}", "&#125;")


def _plain(value: str) -> str:
    """The same for the text twin (rendered by Jinja without escaping)."""
    return value.replace("{", "{{ '{' }}")


class _Writer:
    """Builds the MJML and the text twin together; Jinja tags wait as placeholders."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.rtl = language == "fa"
        self.nonce = secrets.token_hex(6)
        self.tags: dict[str, str] = {}
        # the text twin's parts; (merge field, part): shown only when the field is not empty
        self.text: list[str | tuple[str, str]] = []

    def hold(self, tag: str) -> str:
        key = f"pvj{self.nonce}x{len(self.tags)}z"
        self.tags[key] = tag
        return key

    def author(self, value: str, *, attribute: bool = False) -> str:
        """Author text for XML: escaped, merge tags held aside."""
        parts, last = [], 0
        for match in _TAG.finditer(value):
            parts.append(escape(value[last:match.start()], quote=attribute))
            parts.append(self.hold(match.group(0)))
            last = match.end()
        parts.append(escape(value[last:], quote=attribute))
        return "".join(parts)

    def raw(self, tag: str) -> str:
        return f"<mj-raw>{self.hold(tag)}</mj-raw>"

    def paragraphs(self, value: str) -> str:
        return "".join('<p style="margin:0 0 12px">' + "<br/>".join(
            self.author(line) for line in para.split("\n")) + "</p>"
            for para in re.split(r"\n\s*\n", value) if para.strip())

    def twin(self) -> str:
        out = ""
        for part in self.text:
            if isinstance(part, tuple):
                out += f"{{% if {part[0]} %}}" + ("\n\n" if out else "") + part[1] + \
                    "{% endif %}"
            else:
                out += ("\n\n" if out else "") + part
        return re.sub(r"\n{3,}", "\n\n", out).strip() + "\n"

    def restore(self, markup: str) -> str:
        return re.sub(rf"pvj{self.nonce}x\d+z", lambda m: self.tags[m.group(0)], markup)


def _url(src: str) -> str:
    return public_url() + src if src.startswith("/") else src


def _simple(w: _Writer, block: dict[str, Any]) -> str:
    kind = block["type"]
    if kind == "heading":
        size = {1: "26px", 2: "21px", 3: "17px"}[block["level"]]
        w.text.append(block["text"])
        return (f'<mj-text padding="12px 25px 4px"><h{block["level"]} style="margin:0;'
                f'font-size:{size};line-height:1.4">{w.author(block["text"])}'
                f'</h{block["level"]}></mj-text>')
    if kind == "text":
        w.text.append(block["text"])
        return f"<mj-text>{w.paragraphs(block['text'])}</mj-text>"
    if kind == "image":
        if block["alt"] or block["href"]:
            w.text.append(": ".join(p for p in (block["alt"], block["href"]) if p))
        href = f' href="{w.author(block["href"], attribute=True)}"' if block["href"] else ""
        return (f'<mj-image src="{w.author(_url(block["src"]), attribute=True)}" '
                f'alt="{w.author(block["alt"], attribute=True)}"{href}/>')
    if kind == "button":
        w.text.append(f"{block['label']}: {block['href']}")
        return (f'<mj-button href="{w.author(block["href"], attribute=True)}">'
                f'{w.author(block["label"])}</mj-button>')
    w.text.append("----------")
    return '<mj-divider border-width="1px" border-color="#dddddd"/>'


def _section(inner: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f"<mj-section{extra}><mj-column>{inner}</mj-column></mj-section>"


def _products(w: _Writer, block: dict[str, Any], catalogue: dict[str, Any]) -> str:
    from peyvand.commerce.money import format_money

    with translation.override(w.language):
        view = _("View")
    rows = []
    skus = block["skus"]
    for start in range(0, len(skus), PER_ROW):
        cards = []
        for sku in skus[start:start + PER_ROW]:
            product = catalogue[sku]
            name = product.name(w.language)
            price = format_money(product.price, product.currency, w.language, toman=True)
            link = block["links"].get(sku, "")
            w.text.append(f"{_plain(name)} — {_plain(price)}" + (f"\n{link}" if link else ""))
            button = (f'<mj-button href="{w.author(link, attribute=True)}" font-size="13px">'
                      f"{_html(view)}</mj-button>") if link else ""
            cards.append(
                f'<mj-column background-color="#f6f7f9" padding="8px" css-class="pv-product">'
                f'<mj-text font-weight="bold">{_html(name)}</mj-text>'
                f'<mj-text padding-top="0">{_html(price)}</mj-text>{button}</mj-column>')
        rows.append(f'<mj-section padding="4px 0">{"".join(cards)}</mj-section>')
    return "".join(rows)


def _cross_sell(w: _Writer, block: dict[str, Any]) -> str:
    lang, limit = w.language, block["limit"]
    loop = f"{{% for item in recommendations[:{limit}] %}}"
    title = (f'<mj-text font-weight="bold">{w.author(block["title"])}</mj-text>'
             if block["title"] else "")
    w.text.append(("recommendations", (block["title"] + "\n" if block["title"] else "")
                   + loop + "{% if not loop.first %}\n{% endif %}"
                   f"{{{{ item.name.{lang} }}}} — {{{{ item.price.{lang} }}}}{{% endfor %}}"))
    return (w.raw("{% if recommendations %}") + _section(
        title + w.raw(loop) + f'<mj-text><b>{w.hold(f"{{{{ item.name.{lang} }}}}")}</b>'
        f'<br/>{w.hold(f"{{{{ item.price.{lang} }}}}")}</mj-text>' + w.raw("{% endfor %}"))
        + w.raw("{% endif %}"))


def _coupon(w: _Writer, block: dict[str, Any]) -> str:
    with translation.override(w.language):
        label = _("Your code:")
    code = _html(block["code"]) if block["code"] else w.hold("{{ coupon_code }}")
    text = w.paragraphs(block["text"]) if block["text"] else ""
    body = _section(
        f'<mj-text align="center">{text}<p style="margin:0">{_html(label)}</p>'
        f'<div dir="ltr" style="display:inline-block;margin-top:8px;padding:10px 18px;'
        f'border:2px dashed {ACCENT};font-size:22px;letter-spacing:2px;font-weight:bold">'
        f"{code}</div></mj-text>")
    line = (block["text"] + "\n" if block["text"] else "") + _plain(label) + " " + (
        _plain(block["code"]) if block["code"] else "{{ coupon_code }}")
    if block["code"]:
        w.text.append(line)
        return body
    # Each contact's own code comes with the loyalty programme: until then, no code, no block.
    w.text.append(("coupon_code", line))
    return w.raw("{% if coupon_code %}") + body + w.raw("{% endif %}")


def _footer(w: _Writer, block: dict[str, Any]) -> str:
    with translation.override(w.language):
        label = _("Unsubscribe")
    link = w.hold("{{ unsubscribe_url }}")
    w.text.append("-- \n" + (block["text"] + "\n" if block["text"] else "")
                  + f"{_plain(label)}: {{{{ unsubscribe_url }}}}")
    return _section(
        '<mj-divider border-width="1px" border-color="#dddddd"/>'
        f'<mj-text font-size="12px" color="#666666">{w.paragraphs(block["text"])}'
        f'<a href="{link}" style="color:#666666">{_html(label)}</a></mj-text>',
        padding_top="0")


def _body(w: _Writer, blocks: list[dict[str, Any]], catalogue: dict[str, Any]) -> str:
    out: list[str] = []
    run: list[str] = []  # consecutive simple blocks share one section
    for block in blocks:
        if block["type"] in SIMPLE:
            run.append(_simple(w, block))
            continue
        if run:
            out.append(_section("".join(run)))
            run = []
        if block["type"] == "columns":
            cols = []
            for column in block["columns"]:
                cols.append("<mj-column>" + "".join(_simple(w, b) for b in column)
                            + "</mj-column>")
            out.append("<mj-section>" + "".join(cols) + "</mj-section>")
        elif block["type"] == "products":
            out.append(_products(w, block, catalogue))
        elif block["type"] == "cross_sell":
            out.append(_cross_sell(w, block))
        elif block["type"] == "coupon":
            out.append(_coupon(w, block))
        else:
            out.append(_footer(w, block))
    if run:
        out.append(_section("".join(run)))
    return "".join(out)


def _build(blocks: list[dict[str, Any]], language: str, subject: str) -> tuple[_Writer, str]:
    """Blocks (as check_blocks returns them) → the writer (text, held tags) and the MJML."""
    from peyvand.commerce.models import Product

    skus = {s for b in blocks if b["type"] == "products" for s in b["skus"]}
    catalogue = {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}
    w = _Writer(language)
    direction, align = ("rtl", "right") if w.rtl else ("ltr", "left")
    body = _body(w, blocks, catalogue)
    return w, (
        f'<mjml lang="{language}" dir="{direction}"><mj-head>'
        f"<mj-title>{w.author(subject)}</mj-title><mj-attributes>"
        '<mj-all font-family="Tahoma, Arial, sans-serif"/>'
        f'<mj-text align="{align}" font-size="15px" line-height="1.7" color="#1d2330"/>'
        f'<mj-section direction="{direction}" background-color="#ffffff"/>'
        f'<mj-column direction="{direction}"/>'
        f'<mj-button align="{align}" background-color="{ACCENT}" color="#ffffff" '
        'border-radius="6px" font-size="15px"/>'
        "</mj-attributes></mj-head>"
        f'<mj-body background-color="#f4f5f7" width="600px">{body}</mj-body></mjml>')


def to_mjml(blocks: list[dict[str, Any]], language: str, subject: str) -> str:
    """The MJML of checked blocks, merge tags as the author wrote them."""
    w, mjml = _build(blocks, language, subject)
    return w.restore(mjml)


def mjml_to_html(mjml: str) -> str:
    """MJML → HTML with no web fonts: MJML links Google Fonts for some families unless told
    which fonts exist, and a message must load nothing from elsewhere."""
    return mjml2html(mjml, disable_comments=True, fonts={})


def render_blocks(blocks: list[dict[str, Any]], language: str, subject: str) -> tuple[str, str]:
    """(html, text) of checked blocks: Jinja sources, rendered per contact by the sandbox."""
    w, mjml = _build(blocks, language, subject)
    try:
        html = mjml_to_html(mjml)
    except Exception as exc:  # noqa: BLE001 (MRML's errors are plain exceptions)
        raise BlocksInvalid({"blocks": _("The design could not be built: %(e)s") % {"e": exc}})
    html = html.replace("<head>", "<head>" + DESIGNED_MARKER, 1)
    return w.restore(html), w.twin()
