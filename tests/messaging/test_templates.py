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


def test_contexts_read_as_the_models_do(make_contact, system):
    import datetime as dt
    from decimal import Decimal

    from peyvand.contacts.actions import do_erase_contact
    from peyvand.contacts.models import Contact, CustomField, FieldValue, Identity

    kinds = {"text": "text_value", "number": "number_value", "date": "date_value",
             "choice": "text_value", "boolean": "bool_value"}
    values = {"text": "تبریز", "number": Decimal("12.5000"), "date": dt.date(2024, 3, 20),
              "choice": "L", "boolean": False}
    fields = {kind: CustomField.objects.create(key=f"f_{kind}", label_fa=kind, label_en=kind,
                                               type=kind) for kind in kinds}
    full = make_contact("first@example.com", first_name="مریم", last_name="",
                        phone="09121234567")
    Identity.objects.create(contact=full, kind="email", value="second@example.com")
    for kind, field in fields.items():
        FieldValue.objects.create(contact=full, field=field, **{kinds[kind]: values[kind]})
    nameless = make_contact(None, first_name="", last_name="", phone="09351234567",
                            opt_in=())
    erased = make_contact("gone@example.com")
    do_erase_contact(system, erased)
    ids = [full.pk, nameless.pk, erased.pk, 999_999]
    contexts = contexts_for(ids, links=False)
    assert set(contexts) == {full.pk, nameless.pk, erased.pk}
    for contact in Contact.objects.filter(pk__in=ids):
        ctx = contexts[contact.pk]
        identities = Identity.objects.filter(contact=contact).order_by("-is_primary", "id")
        emails = [i.value for i in identities if i.kind == "email"]
        phones = [i.value for i in identities if i.kind == "phone"]
        assert ctx == {
            "first_name": contact.first_name, "last_name": contact.last_name,
            "display_name": contact.display_name, "language": contact.language,
            "timezone": contact.timezone, "emails": emails, "phones": phones,
            "fields": {fv.field.key: fv.value for fv in contact.field_values.all()},
            "email": emails[0] if emails else "", "phone": phones[0] if phones else ""}
    assert contexts[full.pk]["fields"] == {f"f_{kind}": values[kind] for kind in kinds}
    assert contexts[full.pk]["emails"][0] == "first@example.com"
    for contact in (nameless, erased):  # the model's fallbacks, "Contact #…", "Erased …"
        assert contexts[contact.pk]["display_name"].endswith(f"#{contact.pk}")


def test_renders_are_those_of_plain_jinja_templates():
    from peyvand.messaging.templates_engine import HTML_ENV, TEXT_ENV

    subject = "{{ first_name }} {% for i in range(2) %}{{ i }}{% endfor %}"
    html = ('<p>{% set ns = namespace(n=0) %}{% for x in emails %}{% set ns.n = ns.n + 1 %}'
            '{{ x }}{% endfor %}{{ ns.n }} {{ fields.city|default("-") }}</p>')
    text = "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }} {{ dict(a=1).a }}"
    ctx = {"first_name": "<Sam>", "emails": ["a@x", "b@x"], "fields": {}}
    compiled = compile_parts(subject, html, text, "en")
    assert compiled.render(ctx) == (
        TEXT_ENV.from_string(subject).render(ctx),
        HTML_ENV.from_string(wrap_layout(html, "en")).render(ctx),
        TEXT_ENV.from_string(text).render(ctx))
