"""Templates: sandbox, merge fields (custom fields, consent links), RTL layout, CSS inlining,
plain text made from HTML."""

from __future__ import annotations

import pytest

from peyvand.messaging.templates_engine import (
    TemplateInvalid,
    compile_parts,
    contexts_for,
    text_from_html,
    wrap_layout,
)


def test_persian_layout_is_rtl_and_english_ltr():
    fa = wrap_layout("<p>سلام</p>", "fa")
    assert '<html lang="fa" dir="rtl">' in fa and 'dir="rtl" lang="fa"' in fa
    en = wrap_layout("<html><body><p>Hi</p></body></html>", "en")
    assert '<html lang="en" dir="ltr">' in en and '<div dir="ltr" lang="en"' in en
    assert en.endswith("</div></body></html>")


def test_css_is_inlined_and_text_is_derived():
    compiled = compile_parts("Hi {{ first_name }}",
                             "<style>p { color: red }</style><p>Hi {{ first_name }}</p>"
                             '<p><a href="https://shop.example/x">Shop</a></p>', "", "en")
    subject, html, text = compiled.render({"first_name": "Sam"})
    assert subject == "Hi Sam"
    assert '<p style="color: red;">Hi Sam</p>' in html and "<style" not in html
    assert text == "Hi Sam\n\nShop (https://shop.example/x)\n"


def test_html_merge_fields_are_escaped_text_ones_are_not():
    compiled = compile_parts("{{ first_name }}", "<p>{{ first_name }}</p>", "{{ first_name }}",
                             "en")
    subject, html, text = compiled.render({"first_name": "<b>A&B</b>"})
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html
    assert subject == "<b>A&B</b>" and text == "<b>A&B</b>"


def test_text_from_html_skips_style_and_keeps_lines():
    assert text_from_html("<style>x{}</style><h1>T</h1><ul><li>a</li><li>b</li></ul>") == \
        "T\n\n- a\n\n- b\n"


@pytest.mark.parametrize(("html", "line"), [
    ("<p>\n{{ first_name }\n</p>", "line 2:"),
    ("<p>a</p>\n<p>b</p>\n{{ first_name.__class__.__base__ }}", "line 3:"),
    ("{% for x in range(10**9) %}", "line 1:"),
])
def test_errors_carry_line_numbers(html, line):
    with pytest.raises(TemplateInvalid) as caught:
        compile_parts("s", html, "", "fa")
    assert caught.value.errors["html"].startswith(line)


def test_contexts_have_custom_fields_and_consent_links(make_contact, system):
    from peyvand.contacts.fields import do_save_custom_field
    from peyvand.contacts.models import FieldValue

    field = do_save_custom_field(system, key="city", label_fa="شهر", label_en="City",
                                 type="text")
    contact = make_contact("m@example.com", first_name="مریم")
    FieldValue.objects.create(contact=contact, field=field, text_value="تبریز")
    ctx = contexts_for([contact.pk])[contact.pk]
    assert ctx["first_name"] == "مریم" and ctx["email"] == "m@example.com"
    assert ctx["fields"] == {"city": "تبریز"}
    assert ctx["unsubscribe_url"].startswith("https://crm.example/")
    assert ctx["preferences_url"].startswith("https://crm.example/")
    compiled = compile_parts("{{ fields.city }}", "", "{{ display_name }}", "fa")
    assert compiled.render(ctx)[:1] == ("تبریز",)
