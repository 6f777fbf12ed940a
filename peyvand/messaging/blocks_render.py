"""How checked blocks (messaging.blocks) become MJML and a plain-text twin.

Author text is escaped for XML and its Jinja tags are held aside as placeholders while MJML
runs, then put back: MJML never sees or changes them, and the sandbox renders them per contact.
Everything else written into the output (product names, prices, labels) is made inert for
Jinja. The text twin is made from the blocks, not from the HTML.
"""

from __future__ import annotations

import re
import secrets
from html import escape
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from mjml import mjml2html

from peyvand.base.site import public_url

SIMPLE = ("heading", "text", "image", "button", "divider")
PER_ROW = 3  # product cards side by side on a wide screen (they stack on a phone)
ACCENT = "#0b6a6a"  # the UI's accent colour
TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)  # a Jinja tag


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
        for match in TAG.finditer(value):
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
            price = format_money(product.price, product.currency, w.language)
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


def build(blocks: list[dict[str, Any]], language: str, subject: str) -> tuple[_Writer, str]:
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


def mjml_to_html(mjml: str) -> str:
    """MJML → HTML with no web fonts: MJML links Google Fonts for some families unless told
    which fonts exist, and a message must load nothing from elsewhere."""
    return mjml2html(mjml, disable_comments=True, fonts={})
