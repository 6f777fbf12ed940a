"""E-mail designed from blocks (messaging.blocks): each block's HTML and text twin, RTL,
escaping, products from the catalogue, per-contact recommendations, no web fonts, and the
whole message through the sender's MIME builder."""

from __future__ import annotations

import email
import email.policy
import json

import pytest
from django.utils import timezone

from peyvand.commerce.models import Order, OrderLine, Product
from peyvand.commerce.money import shows_toman
from peyvand.messaging.actions import MessagingInvalid, do_save_template
from peyvand.messaging.blocks import (
    BlocksInvalid,
    check_blocks,
    mjml_to_html,
    render_blocks,
    to_mjml,
)
from peyvand.messaging.content import prepare
from peyvand.messaging.mime import MimeTemplate
from peyvand.messaging.models import MessageTemplate
from peyvand.messaging.templates_engine import (
    SAMPLE_CONTEXT,
    compile_parts,
    contexts_for,
    recommendations_for,
)
from tests.messaging.conftest import post

pytestmark = pytest.mark.django_db

EVERYTHING = [
    {"type": "heading", "text": "Autumn sale for {{ first_name }}", "level": 1},
    {"type": "text", "text": "First paragraph.\nSecond line.\n\nAnother paragraph."},
    {"type": "image", "src": "https://shop.example/a.png", "alt": "A mug",
     "href": "https://shop.example/mug"},
    {"type": "button", "label": "Shop now", "href": "https://shop.example/sale?a=1&b=2"},
    {"type": "divider"},
    {"type": "columns", "columns": [[{"type": "text", "text": "Left side"}],
                                    [{"type": "heading", "text": "Right side", "level": 3}]]},
    {"type": "products", "skus": ["MUG-1", "TEE-1"],
     "links": {"MUG-1": "https://shop.example/p/mug"}},
    {"type": "cross_sell", "limit": 2, "title": "Goes well with yours"},
    {"type": "coupon", "code": "AUTUMN20", "text": "20% off until Friday."},
    {"type": "footer", "text": "Peyvand Shop, 12 Example Street"},
]


@pytest.fixture
def catalogue(db):
    return {p.sku: p for p in (
        Product.objects.create(sku="MUG-1", name_fa="ماگ سفالی", name_en="Clay mug",
                               price=2_500_000, currency="IRR"),
        Product.objects.create(sku="TEE-1", name_fa="تی‌شرت", name_en="T-shirt", price=1999,
                               currency="USD"),
        Product.objects.create(sku="CUP-1", name_fa="فنجان", name_en="Cup", price=800_000),
        Product.objects.create(sku="OLD-1", name_en="Old", active=False))}


def rendered(blocks, language="en", context=None, subject="Hello"):
    html, text = render_blocks(check_blocks(blocks, language), language, subject)
    return compile_parts(subject, html, text, language).render(
        {**SAMPLE_CONTEXT, **(context or {})})


def test_every_block_renders_in_html_and_in_the_text_twin(catalogue):
    _subject, html, text = rendered(EVERYTHING, context={"first_name": "Sam"})
    assert "Autumn sale for Sam</h1>" in html and "Autumn sale for Sam\n" in text
    assert "First paragraph.<br />Second line.</p>" in html
    assert "First paragraph.\nSecond line.\n\nAnother paragraph." in text
    assert 'src="https://shop.example/a.png"' in html and 'alt="A mug"' in html
    assert 'href="https://shop.example/mug"' in html
    assert 'href="https://shop.example/sale?a=1&amp;b=2"' in html and ">Shop now</a>" in html
    assert "Shop now: https://shop.example/sale?a=1&b=2" in text
    assert "border-top:solid 1px #dddddd" in html.replace(" ;", ";") and "----------" in text
    assert "Left side" in html and "Right side</h3>" in html
    assert "Clay mug" in html and "IRT 250,000" in html and "USD 19.99" in html
    assert "Clay mug — IRT 250,000\nhttps://shop.example/p/mug" in text
    assert "T-shirt — USD 19.99" in text
    assert 'href="https://shop.example/p/mug"' in html
    assert "Sample product" in html  # the sample contact's recommendations
    assert "Goes well with yours\nSample product — IRT 120,000\n\n20% off" in text
    assert "AUTUMN20" in html and "Your code: AUTUMN20" in text
    assert "Peyvand Shop, 12 Example Street" in html
    assert f'href="{SAMPLE_CONTEXT["unsubscribe_url"]}"' in html
    assert f"Unsubscribe: {SAMPLE_CONTEXT['unsubscribe_url']}" in text
    assert "<script" not in html.lower()


def test_persian_runs_right_to_left_and_english_left_to_right(catalogue):
    blocks = [{"type": "heading", "text": "سلام {{ first_name }}"},
              {"type": "products", "skus": ["MUG-1"]},
              {"type": "columns", "columns": [[{"type": "text", "text": "راست"}],
                                              [{"type": "text", "text": "چپ"}]]}]
    _s, fa, fa_text = rendered(blocks, "fa", {"first_name": "مریم"})
    assert '<html lang="fa" dir="rtl"' in fa
    assert "direction:rtl" in fa and "direction:ltr" not in fa
    assert "text-align:right" in fa
    assert "سلام مریم" in fa and "ماگ سفالی" in fa and "۲۵۰٬۰۰۰ تومان" in fa
    assert "ماگ سفالی — ۲۵۰٬۰۰۰ تومان" in fa_text
    _s, en, _t = rendered(blocks, "en")
    assert '<html lang="en" dir="ltr"' in en and "direction:rtl" not in en
    assert "Clay mug" in en


def test_author_text_is_escaped_and_merge_fields_kept(catalogue):
    blocks = [{"type": "text", "text": "<script>alert(1)</script> & {{ first_name }}"},
              {"type": "button", "label": "<b>Go</b>", "href": "{{ preferences_url }}"}]
    mjml = to_mjml(check_blocks(blocks, "en"), "en", "Hi {{ first_name }}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; {{ first_name }}" in mjml
    assert "<mj-title>Hi {{ first_name }}</mj-title>" in mjml
    _s, html, text = rendered(blocks, context={"first_name": "<i>Sam</i>"})
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;i&gt;Sam&lt;/i&gt;" in html  # the contact's data escaped too
    assert "&lt;b&gt;Go&lt;/b&gt;" in html
    assert f'href="{SAMPLE_CONTEXT["preferences_url"]}"' in html
    assert "<script>alert(1)</script> & <i>Sam</i>" in text  # plain text is not HTML


def test_catalogue_text_cannot_run_as_a_template(catalogue):
    Product.objects.filter(sku="MUG-1").update(name_en="Mug {{ 7 * 7 }} {% if 1 %}")
    _s, html, text = rendered([{"type": "products", "skus": ["MUG-1"]}])
    assert "Mug {{ 7 * 7 }} {% if 1 %}" in text and "49" not in text
    assert "Mug &#123;&#123; 7 * 7 &#125;&#125;" in html


@pytest.mark.parametrize(("blocks", "key", "words"), [
    ([{"type": "products", "skus": ["MUG-1", "NOPE-9"]}], "blocks.0.skus", "NOPE-9"),
    ([{"type": "products", "skus": ["OLD-1"]}], "blocks.0.skus", "OLD-1"),
    ([{"type": "text", "text": "ok"}, {"type": "button", "label": "x",
                                       "href": "javascript:alert(1)"}], "blocks.1.href",
     "Block 2 (Button), link: write a full address"),
    ([{"type": "image", "src": "http://x.example/a.png"}], "blocks.0.src", "https://"),
    ([{"type": "heading", "text": "Hi {{ first_name "}], "blocks.0.text", "Block 1 (Heading)"),
    ([{"type": "poem"}], "blocks.0.type", "unknown block type"),
    (["text"], "blocks.0.type", "unknown block type"),
    ([{"type": "columns", "columns": [[{"type": "text", "text": "a"}]]}], "blocks.0.columns",
     "2 or 3"),
    ([{"type": "columns", "columns": [[], [{"type": "products", "skus": ["MUG-1"]}]]}],
     "blocks.0.1.0.type", "Block 1 (Columns), column 2, block 1 (Products)"),
    ([{"type": "cross_sell", "limit": 99}], "blocks.0.limit", "1 to 6"),
    ([{"type": "coupon", "code": "no spaces"}], "blocks.0.code", "letters"),
    ([{"type": "text", "text": 5}], "blocks.0.text", "text"),
])
def test_bad_blocks_are_refused_naming_the_block_and_field(catalogue, blocks, key, words):
    with pytest.raises(BlocksInvalid) as caught:
        check_blocks(blocks, "en")
    assert key in caught.value.errors, caught.value.errors
    assert words in caught.value.errors[key]


def test_columns_are_mjml_columns_that_stack_on_phones(catalogue):
    blocks = [{"type": "columns", "columns": [[{"type": "text", "text": "a"}],
                                              [{"type": "text", "text": "b"}],
                                              [{"type": "text", "text": "c"}]]}]
    mjml = to_mjml(check_blocks(blocks, "en"), "en", "s")
    assert mjml.partition("<mj-body")[2].count("<mj-column>") == 3
    _s, html, _t = rendered(blocks)
    # Each column is full width unless the screen is at least 480px wide: they stack.
    assert html.count('class="mj-outlook-group-fix mj-column-per-33') == 3
    assert "display:inline-block;vertical-align:top;width:100%" in html
    assert "@media only screen and (min-width:480px)" in html  # kept, not inlined away


def test_no_web_fonts_are_linked(catalogue):
    _s, html, _t = rendered(EVERYTHING)
    assert "googleapis" not in html and "<link" not in html
    # MJML would link Google Fonts for this family; the fonts table we give it is empty.
    web_font = ('<mjml><mj-body><mj-section><mj-column><mj-text font-family="Open Sans">x'
                "</mj-text></mj-column></mj-section></mj-body></mjml>")
    assert "googleapis" not in mjml_to_html(web_font)


def _buy(contact, *products):
    order = Order.objects.create(source="t", external_id=f"o{contact.pk}", contact=contact,
                                 placed_at=timezone.now(), status="completed", currency="IRR",
                                 total=1)
    for p in products:
        OrderLine.objects.create(order=order, product=p, sku=p.sku, quantity=1)


def _rules(catalogue):
    from peyvand.insights.models import ProductAssociation

    mug, tee, cup = catalogue["MUG-1"], catalogue["TEE-1"], catalogue["CUP-1"]
    for a, b, conf, lift in ((mug, cup, 0.6, 3.0), (mug, tee, 0.3, 1.5), (cup, tee, 0.5, 2.0),
                             (tee, mug, 0.2, 0.8)):
        ProductAssociation.objects.create(product=a, related=b, orders_together=5,
                                          support=0.1, confidence=conf, lift=lift)


def test_cross_sell_loop_renders_a_contacts_recommendations(catalogue, make_contact):
    from peyvand.insights import crosssell

    _rules(catalogue)
    buyer, other, nobody = make_contact(), make_contact(), make_contact()
    _buy(buyer, catalogue["MUG-1"])
    _buy(other, catalogue["MUG-1"], catalogue["CUP-1"])
    found = recommendations_for([buyer.pk, other.pk, nobody.pk])
    for person in (buyer, other):  # the same products, in the same order, as insights ranks
        assert [r["sku"] for r in found[person.pk]] == [
            r["product"].sku for r in crosssell.for_contact(person.pk, 6)]
    assert [r["sku"] for r in found[buyer.pk]] == ["CUP-1", "TEE-1"]
    assert found[buyer.pk][0]["name"] == {"fa": "فنجان", "en": "Cup"}
    assert found[buyer.pk][0]["price"]["fa"] == "۸۰٬۰۰۰ تومان"
    contexts = contexts_for([buyer.pk, nobody.pk], links=False, recommendations=True)
    assert contexts[nobody.pk]["recommendations"] == []
    assert "recommendations" not in contexts_for([buyer.pk], links=False)[buyer.pk]
    blocks = [{"type": "text", "text": "Hi"},
              {"type": "cross_sell", "limit": 1, "title": "For you"}]
    _s, html, text = rendered(blocks, "fa", contexts[buyer.pk])
    assert "فنجان" in html and "۸۰٬۰۰۰ تومان" in html and "For you" in html
    assert "فنجان — ۸۰٬۰۰۰ تومان" in text and "تی‌شرت" not in html  # limit 1
    _s, html, text = rendered(blocks, "fa", contexts[nobody.pk])
    assert "For you" not in html and "For you" not in text  # nothing at all when none


def test_recommendations_cost_the_same_queries_for_1_or_20_people(catalogue, make_contact,
                                                                  django_assert_num_queries):
    _rules(catalogue)
    people = [make_contact() for _ in range(20)]
    for person in people:
        _buy(person, catalogue["MUG-1"])
    shows_toman()  # the shop's display unit is read once a few seconds, not per person
    with django_assert_num_queries(2):
        recommendations_for([people[0].pk])
    with django_assert_num_queries(2):
        assert len(recommendations_for([p.pk for p in people])) == 20


def test_coupon_without_a_code_waits_for_each_contacts_code(catalogue):
    blocks = [{"type": "text", "text": "Hi"}, {"type": "coupon"}]
    _s, html, text = rendered(blocks)
    assert "Your code" not in html and "Your code" not in text
    _s, html, text = rendered(blocks, context={"coupon_code": "PV-123"})
    assert "PV-123" in html and "Your code: PV-123" in text


def test_a_designed_message_parses_as_mime(catalogue, make_contact, system):
    template = do_save_template(system, {"name": "designed", "language": "fa",
                                         "subject": "حراج برای {{ first_name }}",
                                         "blocks": EVERYTHING})
    assert template.blocks[0]["type"] == "heading" and template.html.startswith("<!doctype")
    contact = make_contact(first_name="مریم")
    context = contexts_for([contact.pk])[contact.pk]
    subject, html, text = prepare(template).render(context)
    mime = MimeTemplate(from_name="فروشگاه", from_address="news@shop.example",
                        domain="shop.example")
    raw = mime.build(to_name="مریم", to_address=context["email"], subject=subject, text=text,
                     html=html, message_id=mime.message_id(1),
                     unsubscribe=[f"<{context['unsubscribe_url']}>"])
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert all(not part.defects for part in msg.walk())
    assert msg["Subject"] == "حراج برای مریم"
    assert "ماگ سفالی" in msg.get_body(("html",)).get_content()
    body_text = msg.get_body(("plain",)).get_content()
    assert "ماگ سفالی" in body_text and context["unsubscribe_url"] in body_text
    # the footer block carries the link: the sender's own footer is not added a second time
    assert "data-unsubscribe-footer" not in html


def test_saving_makes_html_and_text_keeps_the_authors_own_text(catalogue, system):
    raw = {"name": "d", "language": "en", "subject": "Hi", "blocks": json.dumps(
        [{"type": "text", "text": "One"}, {"type": "bogus-key-dropped", "x": 1}][:1])}
    template = do_save_template(system, raw)
    assert "One" in template.html and template.text == "One\n"
    # Blocks changed, text untouched (the one made last time): made again.
    raw.update(blocks=[{"type": "text", "text": "Two"}], text=template.text)
    template = do_save_template(system, raw, template)
    assert "Two" in template.html and template.text == "Two\n"
    # The author's own text stays.
    raw.update(blocks=[{"type": "text", "text": "Three"}], text="My own words")
    template = do_save_template(system, raw, template)
    assert "Three" in template.html and template.text == "My own words"
    with pytest.raises(MessagingInvalid) as caught:
        do_save_template(system, {**raw, "channel": "sms"}, template)
    assert "blocks" in caught.value.errors
    with pytest.raises(MessagingInvalid) as caught:
        do_save_template(system, {**raw, "blocks": "[", "mode": "blocks"}, template)
    assert "JSON" in caught.value.errors["blocks"]


def test_html_templates_are_unchanged(system):
    html = "<style>p{color:red}</style><p>Hi {{ first_name }}</p>"
    template = do_save_template(system, {"name": "raw", "language": "en", "subject": "Hi",
                                         "html": html})
    assert template.blocks == [] and template.html == html and template.text == ""
    _s, out, _t = prepare(template).render(SAMPLE_CONTEXT)
    assert '<p style="color: red;">Hi Sara</p>' in out


def test_api_round_trip_of_blocks(api_for, catalogue):
    api = api_for("owner")
    blocks = [{"type": "heading", "text": "Hi {{ first_name }}", "level": 2},
              {"type": "products", "skus": ["MUG-1"], "links": {}}]
    r = post(api, "/api/v1/templates", {"name": "designed", "subject": "Hi",
                                        "language": "en", "blocks": blocks})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["blocks"] == blocks and "Clay mug" in body["html"]
    r = post(api, f"/api/v1/templates/{body['id']}", {"subject": "Hello"}, "put")
    assert r.status_code == 200 and r.json()["blocks"] == blocks
    r = post(api, f"/api/v1/templates/{body['id']}",
             {"blocks": [{"type": "products", "skus": ["NOPE-9"]}]}, "put")
    assert r.status_code == 400 and "NOPE-9" in r.json()["errors"]["blocks.0.skus"]
    r = post(api, f"/api/v1/templates/{body['id']}", {"blocks": [], "html": "<p>x</p>"}, "put")
    assert r.status_code == 200 and r.json()["blocks"] == [] and r.json()["html"] == "<p>x</p>"
    plain = post(api, "/api/v1/templates", {"name": "plain", "subject": "s", "text": "t"})
    assert plain.json()["blocks"] == []
    assert MessageTemplate.objects.get(name="designed").blocks == []


def test_the_sender_sends_each_contact_their_recommendations(catalogue, make_contact,
                                                             owner_actor, deliver, system):
    from peyvand.messaging.actions import do_create_broadcast
    from tests.outbound import body

    _rules(catalogue)
    buyer = make_contact("buyer@example.com", tags=["vip"], language="en")
    make_contact("new@example.com", tags=["vip"], language="en")
    _buy(buyer, catalogue["MUG-1"])
    do_save_template(system, {"name": "recs", "language": "en", "subject": "For you",
                              "blocks": [{"type": "text", "text": "Hi {{ first_name }}"},
                                         {"type": "cross_sell", "limit": 2,
                                          "title": "Picked for you"},
                                         {"type": "footer", "text": "Shop address"}]})
    do_create_broadcast(owner_actor, "recs", "vip")
    got = {m["To"].addresses[0].addr_spec: m for m in deliver()}
    assert len(got) == 2
    html, text = body(got["buyer@example.com"], "html"), body(got["buyer@example.com"])
    assert "Picked for you" in html and "Cup" in html and "T-shirt" in html
    assert "Cup — IRT 80,000" in text
    assert "Picked for you" not in body(got["new@example.com"], "html")
    assert "data-unsubscribe-footer" not in html  # the footer block has the link


def test_the_editor_page_saves_blocks_and_keeps_html_templates(client_for, catalogue):
    ui = client_for("marketer")
    page = ui.get("/messaging/templates/new/").content.decode()
    assert 'id="block-editor-config"' in page and "messaging/blocks.js" in page
    assert 'name="mode" value="blocks" checked' in page  # a new e-mail starts designed
    assert '"sku": "MUG-1"' in page  # the product picker's catalogue
    form = {"name": "d", "language": "en", "channel": "email", "message_class": "marketing",
            "subject": "Hi", "mode": "blocks", "html": "ignored",
            "blocks": json.dumps([{"type": "products", "skus": ["NOPE-9"]}])}
    r = ui.post("/messaging/templates/new/", form)
    assert r.status_code == 200 and 'id="block-errors"' in r.content.decode()
    assert "NOPE-9" in r.content.decode()
    r = ui.post("/messaging/templates/new/", {**form, "blocks": json.dumps(
        [{"type": "button", "label": "Go", "href": "https://shop.example"}])})
    assert r.status_code == 302
    template = MessageTemplate.objects.get(name="d")
    assert template.blocks[0]["label"] == "Go" and "ignored" not in template.html
    page = ui.get(f"/messaging/templates/{template.pk}/").content.decode()
    assert 'name="mode" value="blocks" checked' in page and "&quot;label&quot;: &quot;Go" in page
    # Written as HTML: the blocks box is not read, and the template stays HTML.
    r = ui.post(f"/messaging/templates/{template.pk}/", {**form, "mode": "html",
                                                          "html": "<p>Mine</p>"})
    template.refresh_from_db()
    assert r.status_code == 302 and template.blocks == [] and template.html == "<p>Mine</p>"
    page = ui.get(f"/messaging/templates/{template.pk}/").content.decode()
    assert 'name="mode" value="html" checked' in page
    r = ui.post(f"/messaging/templates/{template.pk}/", {**form, "blocks": "[]"})
    assert "Add at least one block" in r.content.decode()


def test_preview_finds_a_contact_and_switches_width(client_for, make_contact, system,
                                                    catalogue):
    template = do_save_template(system, {"name": "d", "language": "fa", "subject": "سلام",
                                         "blocks": [{"type": "text",
                                                     "text": "سلام {{ first_name }}"}]})
    contact = make_contact("maryam@example.com", first_name="مریم", last_name="کریمی")
    ui = client_for("reviewer", "fa")
    url = f"/messaging/templates/{template.pk}/preview/"
    page = ui.get(url + "?q=maryam").content.decode()
    assert f'href="?contact={contact.pk}&amp;width=desktop"' in page
    assert "maryam@example.com" in page
    page = ui.get(url + f"?contact={contact.pk}&width=phone").content.decode()
    assert "سلام مریم" in page and 'data-width="phone"' in page
    assert "inline-size:375px" in page
    page = ui.get(url).content.decode()
    # Without a contact: a Persian sample person for a Persian template.
    assert "سلام سارا" in page and "inline-size:600px" in page
    assert "Sara" not in page
