"""The segments pages: list, the rule builder's form, one segment, delete, refresh, the live
count JSON and the product search; roles; Persian and English; "save as segment" links."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import quote

import pytest
from django.utils import timezone

from peyvand.audiences.actions import do_create_segment, refresh_segment
from peyvand.audiences.models import Segment, SegmentChange
from peyvand.commerce.models import Order, OrderLine, Product
from peyvand.contacts.models import Contact, ContactTag, Tag
from peyvand.insights.models import ProductAssociation

pytestmark = pytest.mark.django_db

VIP = {"field": "contact.tags", "op": "has", "value": "vip"}


@pytest.fixture
def people():
    vip = Tag.objects.create(name="vip")
    ali, sara, bob = (Contact.objects.create(first_name=n) for n in ("Ali", "Sara", "Bob"))
    for c in (ali, sara):
        ContactTag.objects.create(contact=c, tag=vip)
    return {"ali": ali, "sara": sara, "bob": bob}


def _post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


# ---- list ------------------------------------------------------------------------------------

def test_empty_list_invites_the_first_segment(client_for):
    html = client_for("marketer").get("/segments/").content.decode()
    assert 'id="empty-state"' in html and 'href="/segments/new/"' in html


def test_list_shows_members_and_last_refresh_and_pages(client_for, system, people):
    first = do_create_segment(system, "Best VIPs", VIP)  # sorts before "Segment …"
    refresh_segment(first)
    for i in range(30):
        do_create_segment(system, f"Segment {i:02}", {"all": []})
    client = client_for("owner")
    html = client.get("/segments/").content.decode()
    row = re.search(rf'<tr data-segment="{first.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "Best VIPs" in row and ">2<" in row  # two members at the last refresh
    assert timezone.localdate().isoformat() in row
    assert "Not counted yet" in html  # the others were never refreshed
    assert 'rel="next"' in html
    assert "Segment 29" in client.get("/segments/?page=2").content.decode()


def test_a_role_that_cannot_edit_sees_no_edit_buttons(client_for, system):
    segment = do_create_segment(system, "VIPs", VIP)
    client = client_for("support")
    html = client.get("/segments/").content.decode()
    assert f"/segments/{segment.pk}/edit/" not in html and "/segments/new/" not in html
    detail = client.get(f"/segments/{segment.pk}/").content.decode()
    assert "refresh-segment" not in detail and "delete-segment" not in detail


# ---- new and edit ----------------------------------------------------------------------------

def test_new_segment_is_created_and_lands_on_its_page(client_for, people):
    client = client_for("analyst")
    rule = {"all": [VIP, {"any": [{"field": "contact.first_name", "op": "eq", "value": "Ali"},
                                  {"not": {"field": "orders.count", "op": "gt", "value": 0}}]}]}
    response = client.post("/segments/new/", {"name": "  VIP Ali ", "description": "d",
                                              "auto_refresh": "on", "rules": json.dumps(rule)})
    segment = Segment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/segments/{segment.pk}/"
    assert segment.name == "VIP Ali" and segment.rules == rule and segment.auto_refresh
    page = client.get(response["Location"])
    assert page.context["live_count"] == 2  # Ali and Sara: tagged, and never ordered


def test_the_form_page_carries_the_catalogue_for_the_builder(client_for):
    response = client_for("owner").get("/segments/new/")
    html = response.content.decode()
    assert 'src="/static/audiences/builder.js"' in html
    catalogue = json.loads(re.search(r'id="builder-catalogue"[^>]*>(.*?)</script>', html,
                                     re.S).group(1))
    assert [g["key"] for g in catalogue["groups"]] == [
        "contact", "consent", "commerce", "insights", "engagement", "segment"]
    paths = {f["path"]: f for g in catalogue["groups"] for f in g["fields"]}
    assert paths["orders.count"]["in_last"] is True
    assert catalogue["ops"]["date"]["lt"] == "is before"
    assert catalogue["ops"]["number"]["lt"] == "is less than"
    # Typed in toman, the shop's display unit: 10 rial each.
    assert catalogue["currency"] == {"code": "IRR", "exponent": 1, "label": "IRT"}
    assert json.loads(response.context["form"]["rules"].value()) == {"all": []}


def test_rule_errors_are_given_back_by_node_and_nothing_is_saved(client_for):
    client = client_for("owner")
    bad = {"all": [VIP, {"field": "orders.count", "op": "contains", "value": 1}]}
    response = client.post("/segments/new/", {"name": "", "rules": json.dumps(bad)})
    assert response.status_code == 200 and not Segment.objects.exists()
    form = response.context["form"]
    assert form.errors["name"] or "rules.all[1].op" in response.context["rule_errors"]
    response = client.post("/segments/new/", {"name": "Broken", "rules": json.dumps(bad)})
    assert "rules.all[1].op" in response.context["rule_errors"]
    html = response.content.decode()
    assert 'data-node="rules.all[1].op"' in html and "cannot take" in html
    errors = json.loads(re.search(r'id="builder-errors"[^>]*>(.*?)</script>', html,
                                  re.S).group(1))
    assert list(errors) == ["rules.all[1].op"]
    response = client.post("/segments/new/", {"name": "Broken", "rules": "{not json"})
    assert "not valid JSON" in " ".join(response.context["form"].errors["rules"])


def test_a_taken_name_is_refused_beside_the_name(client_for, system):
    do_create_segment(system, "VIPs", VIP)
    response = client_for("owner").post("/segments/new/", {"name": "VIPs",
                                                           "rules": json.dumps(VIP)})
    assert "exists already" in " ".join(response.context["form"].errors["name"])


def test_edit_changes_the_rule_and_refuses_naming_itself(client_for, system, people):
    segment = do_create_segment(system, "VIPs", VIP)
    client = client_for("marketer")
    page = client.get(f"/segments/{segment.pk}/edit/")
    assert json.loads(page.context["form"]["rules"].value()) == VIP
    # the builder offers the other segments, not this one
    assert all(s["id"] != segment.pk for s in page.context["catalogue"]["segments"])
    itself = {"field": "segment", "op": "eq", "value": segment.pk}
    response = client.post(f"/segments/{segment.pk}/edit/", {"name": "VIPs",
                                                            "rules": json.dumps(itself)})
    assert "would include itself" in " ".join(response.context["rule_errors"].values())
    changed = {"field": "contact.first_name", "op": "eq", "value": "Bob"}
    response = client.post(f"/segments/{segment.pk}/edit/", {"name": "Bobs",
                                                            "rules": json.dumps(changed)})
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.name == "Bobs" and segment.rules == changed and not segment.auto_refresh


def test_new_page_is_prefilled_from_a_link(client_for):
    rule = {"all": [{"field": "insights.tier", "op": "eq", "value": "most_valuable"}]}
    response = client_for("owner").get(f"/segments/new/?rules={quote(json.dumps(rule))}"
                                       f"&name=Top")
    form = response.context["form"]
    assert json.loads(form["rules"].value()) == rule and form["name"].value() == "Top"


@pytest.mark.parametrize(("query", "rule", "name"), [
    ("from=insights&segment=at_risk",
     {"all": [{"field": "insights.rfm_segment", "op": "eq", "value": "at_risk"}]}, "At risk"),
    ("from=insights&tier=most_valuable&stage=client",
     {"all": [{"field": "insights.tier", "op": "eq", "value": "most_valuable"},
              {"field": "insights.ladder", "op": "eq", "value": "client"}]},
     "Most valuable · Client"),
    ("from=due", {"all": [{"field": "insights.due", "op": "in", "value": ["due", "overdue"]}]},
     "Due to buy again"),
    ("from=due&status=overdue",
     {"all": [{"field": "insights.due", "op": "eq", "value": "overdue"}]},
     "Due to buy again · Overdue"),
])
def test_save_as_segment_from_insights_lists(client_for, query, rule, name):
    form = client_for("owner").get(f"/segments/new/?{query}").context["form"]
    assert json.loads(form["rules"].value()) == rule and form["name"].value() == name


def test_a_filter_no_rule_can_say_is_named_as_left_out(client_for):
    response = client_for("owner").get("/segments/new/?from=insights&relationship=relational",
                                       follow=True)
    assert "Relationship" in response.content.decode()
    assert json.loads(response.context["form"]["rules"].value()) == {"all": []}


def test_save_as_segment_for_a_products_cross_sell_audience(client_for):
    tea, cup, pot = (Product.objects.create(sku=s, name_en=s.title(), price=1)
                     for s in ("tea", "cup", "pot"))
    for a, b, lift in ((cup, tea, 2.0), (pot, tea, 1.5), (tea, cup, 2.0)):
        ProductAssociation.objects.create(product=a, related=b, orders_together=3, support=.1,
                                          confidence=.5, lift=lift)
    ProductAssociation.objects.create(product=cup, related=pot, orders_together=3,
                                      support=.1, confidence=.1, lift=0.5)  # not beyond chance
    form = client_for("owner").get("/segments/new/?from=crosssell&sku=tea").context["form"]
    assert json.loads(form["rules"].value()) == {"all": [
        {"field": "orders.products", "op": "has", "value": ["cup", "pot"]},
        {"field": "orders.products", "op": "has_not", "value": "tea"}]}
    assert form["name"].value() == "Might buy Tea"


def test_insights_pages_link_to_save_as_segment(client_for):
    client = client_for("owner")
    html = client.get("/insights/customers/?tier=rest").content.decode()
    assert "/segments/new/?from=insights&amp;tier=rest" in html
    assert "/segments/new/?from=due" in client.get("/insights/due/").content.decode()
    # a role that cannot write segments is not offered the link
    assert "/segments/new/" not in client_for("support").get("/insights/due/").content.decode()


# ---- detail ----------------------------------------------------------------------------------

def test_detail_reads_the_rule_in_words_with_counts_members_and_changes(client_for, system,
                                                                      people):
    rule = {"all": [VIP, {"not": {"any": [
        {"field": "orders.total_spent", "op": "gt", "value": 5000, "in_last": {"days": 30}},
        {"field": "contact.created_at", "op": "lt", "value": "2024-08-02"}]}}]}
    segment = do_create_segment(system, "VIPs", rule)
    refresh_segment(segment)
    ContactTag.objects.create(contact=people["bob"], tag=Tag.objects.get(name="vip"))
    refresh_segment(segment)
    response = client_for("reviewer").get(f"/segments/{segment.pk}/")
    html = response.content.decode()
    assert response.context["live_count"] == 3
    assert 'id="member-count">3<' in html
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "All of these:" in words and "None of these:" in words
    assert "Tags includes any of “vip”" in words
    assert "Total spent is more than IRT 500 (counting orders of the last 30 days)" in words
    assert "Added on is before 2024-08-02" in words
    for c in people.values():
        assert f'href="/contacts/{c.pk}/"' in html
    assert SegmentChange.objects.filter(contact=people["bob"], kind="entered").exists()
    changes = html.split('id="segment-changes"')[1].split("</section>")[0]
    assert f'/contacts/{people["bob"].pk}/' in changes and "Entered" in changes
    assert "_segment_actions" not in html  # the placeholder renders nothing yet


def test_detail_in_persian_is_rtl_with_jalali_dates_and_persian_digits(client_for, system,
                                                                     people):
    rule = {"all": [VIP, {"field": "contact.created_at", "op": "gt", "value": "2024-08-02"},
                    {"field": "orders.total_spent", "op": "lt", "value": 1250000}]}
    segment = do_create_segment(system, "ویژه", rule)
    refresh_segment(segment)
    html = client_for("owner", language="fa").get(f"/segments/{segment.pk}/").content.decode()
    assert '<html lang="fa" dir="rtl">' in html
    assert "۱۴۰۳/۰۵/۱۲" in html  # 2024-08-02 on the Jalali calendar
    assert "۱۲۵٬۰۰۰ تومان" in html
    assert 'id="live-count">۲<' in html
    assert "مخاطب" in html or "Contact" in html


def test_the_form_in_persian_hints_jalali_dates(client_for):
    html = client_for("owner", language="fa").get("/segments/new/").content.decode()
    catalogue = json.loads(re.search(r'id="builder-catalogue"[^>]*>(.*?)</script>', html,
                                     re.S).group(1))
    assert catalogue["language"] == "fa" and catalogue["strings"]["datePlaceholder"] == "1403/05/12"
    assert catalogue["currency"]["label"] == "تومان"
    assert '<html lang="fa" dir="rtl">' in html


def test_a_rule_that_no_longer_holds_is_shown_not_crashed_on(client_for, system):
    other = do_create_segment(system, "Other", VIP)
    segment = do_create_segment(system, "Uses other", {"field": "segment", "op": "eq",
                                                       "value": other.pk})
    Segment.objects.filter(pk=other.pk).update(rules={"field": "nope", "op": "eq"})
    response = client_for("owner").get(f"/segments/{segment.pk}/")
    assert response.status_code == 200 and 'id="rule-broken"' in response.content.decode()
    refreshed = client_for("owner", username="o2").post(f"/segments/{segment.pk}/refresh/",
                                                        follow=True)
    assert "no longer holds" in refreshed.content.decode()


def test_unknown_segment_is_404(client_for):
    assert client_for("owner").get("/segments/999/").status_code == 404


# ---- refresh and delete ----------------------------------------------------------------------

def test_refresh_now_materialises_and_reports(client_for, system, people):
    segment = do_create_segment(system, "VIPs", VIP)
    client = client_for("analyst")
    response = client.post(f"/segments/{segment.pk}/refresh/", follow=True)
    segment.refresh_from_db()
    assert segment.member_count == 2 and segment.refreshed_at is not None
    assert "baseline" in response.content.decode()
    assert client.get(f"/segments/{segment.pk}/refresh/").status_code == 405
    assert client_for("support").post(f"/segments/{segment.pk}/refresh/").status_code == 403


def test_delete_asks_first_then_deletes(client_for, system):
    segment = do_create_segment(system, "VIPs", VIP)
    client = client_for("owner")
    confirm = client.get(f"/segments/{segment.pk}/delete/")
    assert 'id="confirm-delete"' in confirm.content.decode() and Segment.objects.exists()
    response = client.post(f"/segments/{segment.pk}/delete/")
    assert response["Location"] == "/segments/" and not Segment.objects.exists()


def test_delete_of_a_segment_another_uses_is_refused_with_409(client_for, system):
    used = do_create_segment(system, "VIPs", VIP)
    do_create_segment(system, "VIP Alis", {"all": [
        {"field": "segment", "op": "eq", "value": used.pk}]})
    response = client_for("owner").post(f"/segments/{used.pk}/delete/")
    assert response.status_code == 409
    assert "VIP Alis" in response.content.decode() and 'id="delete-refused"' in \
        response.content.decode()
    assert Segment.objects.filter(pk=used.pk).exists()


@pytest.mark.parametrize("role", ["reviewer", "support"])
def test_roles_without_segments_edit_are_refused_every_write(client_for, system, role):
    segment = do_create_segment(system, "VIPs", VIP)
    client = client_for(role)
    assert client.get("/segments/new/").status_code == 403
    assert client.post("/segments/new/", {"name": "x", "rules": "{}"}).status_code == 403
    assert client.get(f"/segments/{segment.pk}/edit/").status_code == 403
    assert client.post(f"/segments/{segment.pk}/delete/").status_code == 403
    assert client.get(f"/segments/{segment.pk}/").status_code == 200
    assert Segment.objects.filter(name="VIPs").count() == 1 and Segment.objects.count() == 1


# ---- the builder's JSON ----------------------------------------------------------------------

def test_preview_counts_and_names_the_first_ten(client_for, people):
    for i in range(12):
        ContactTag.objects.create(contact=Contact.objects.create(first_name=f"V{i}"),
                                  tag=Tag.objects.get(name="vip"))
    response = _post_json(client_for("support"), "/segments/preview/", {"rules": VIP})
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 14 and len(data["items"]) == 10
    first = data["items"][0]
    assert first["name"] == "V11" and first["url"] == f"/contacts/{first['id']}/"


def test_preview_gives_errors_by_node(client_for):
    client = client_for("owner")
    bad = {"any": [VIP, {"field": "contact.created_at", "op": "lt", "value": "1403/05/12"}]}
    response = _post_json(client, "/segments/preview/", {"rules": bad})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["rules.any[1].value"]
    assert _post_json(client, "/segments/preview/", [1]).status_code == 400
    assert client.post("/segments/preview/", "nope", content_type="application/json"
                       ).status_code == 400
    assert client.get("/segments/preview/").status_code == 405


def test_preview_refuses_a_rule_naming_the_segment_being_edited(client_for, system):
    segment = do_create_segment(system, "VIPs", VIP)
    response = _post_json(client_for("owner"), "/segments/preview/", {
        "rules": {"field": "segment", "op": "eq", "value": segment.pk}, "segment": segment.pk})
    assert response.status_code == 400
    assert "itself" in response.json()["errors"]["rules.value"]


def test_preview_needs_the_csrf_token(client_for, make_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("csrf", "owner"))
    assert _post_json(client, "/segments/preview/", {"rules": VIP}).status_code == 403


def test_product_search_finds_by_sku_or_name(client_for):
    Product.objects.create(sku="TEA-1", name_en="Green tea", name_fa="چای سبز", price=1)
    Product.objects.create(sku="CUP-1", name_en="Cup", price=1)
    client = client_for("owner")
    assert client.get("/segments/products/?q=tea").json() == {
        "items": [{"sku": "TEA-1", "name": "Green tea"}]}
    assert client.get("/segments/products/?q=cup").json()["items"][0]["sku"] == "CUP-1"
    assert client.get("/segments/products/").json() == {"items": []}
    fa = client_for("owner", language="fa")
    assert fa.get("/segments/products/?q=TEA").json()["items"][0]["name"] == "چای سبز"


def test_orders_products_rule_counts_buyers(client_for, people):
    tea = Product.objects.create(sku="TEA-1", name_en="Tea", price=1)
    order = Order.objects.create(source="x", external_id="1", contact=people["bob"],
                                 placed_at=timezone.now() - dt.timedelta(days=3),
                                 currency="IRR", total=10)
    OrderLine.objects.create(order=order, product=tea, sku="TEA-1", quantity=1, unit_price=10,
                             line_total=10)
    rule = {"field": "orders.products", "op": "has", "value": "TEA-1", "in_last": {"days": 7}}
    data = _post_json(client_for("owner"), "/segments/preview/", {"rules": rule}).json()
    assert data["count"] == 1 and data["items"][0]["name"] == "Bob"


def test_segments_is_in_the_customers_menu(client_for):
    html = client_for("support").get("/segments/").content.decode()
    menu = html.split('data-group="customers"')[1].split("</li>\n        <li class=\"navgroup\"")[0]
    assert 'href="/segments/" aria-current="page"' in menu
