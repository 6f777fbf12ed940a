"""The segments API: CRUD, live count against the materialised one, preview, the catalogue,
pages, rules refused naming their node, 409 for a segment in use, 404s and roles."""

from __future__ import annotations

import pytest
from django.test import Client

from peyvand.accounts.actions import do_create_token
from peyvand.audiences.actions import do_create_segment, refresh_segment
from peyvand.audiences.models import Segment, SegmentMember
from peyvand.base.actor import Actor
from peyvand.base.models import AuditEntry
from peyvand.contacts.models import Contact, ContactTag, CustomField, Tag
from tests.fixtures.faces import send

pytestmark = pytest.mark.django_db

VIP = {"field": "contact.tags", "op": "has", "value": "vip"}
URL = "/api/v1/segments"


@pytest.fixture
def vip(db):
    return Tag.objects.create(name="vip")


def _person(name: str, tag: Tag | None = None) -> Contact:
    contact = Contact.objects.create(first_name=name)
    if tag is not None:
        ContactTag.objects.create(contact=contact, tag=tag)
    return contact


# --- CRUD ---------------------------------------------------------------------------------------

def test_create_read_update_delete(api, vip):
    _person("a", vip)
    _person("b")
    created = send(api, "post", URL, {"name": " VIPs ", "rules": VIP,
                                      "description": "Our best", "auto_refresh": False})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "VIPs" and body["rules"] == VIP and body["description"] == "Our best"
    assert body["count"] == 1 and body["member_count"] == 0 and body["refreshed_at"] is None
    assert body["auto_refresh"] is False and body["created_at"]
    segment_id = body["id"]
    assert AuditEntry.objects.filter(action="segment.create", target_id=str(segment_id)).exists()

    got = api.get(f"{URL}/{segment_id}").json()
    assert got == body

    patched = send(api, "patch", f"{URL}/{segment_id}", {"description": "changed"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["description"] == "changed" and patched.json()["rules"] == VIP
    patched = send(api, "patch", f"{URL}/{segment_id}", {"rules": {"all": []}, "name": "All"})
    assert patched.json()["name"] == "All" and patched.json()["count"] == 2

    assert api.delete(f"{URL}/{segment_id}").status_code == 204
    assert not Segment.objects.exists()
    assert api.get(f"{URL}/{segment_id}").status_code == 404


def test_a_taken_name_is_refused(api, system):
    do_create_segment(system, "VIPs", VIP)
    response = send(api, "post", URL, {"name": "VIPs", "rules": {"all": []}})
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_live_count_differs_from_the_materialised_one_until_a_refresh(api, system, vip):
    a = _person("a", vip)
    segment = do_create_segment(system, "VIPs", VIP)
    assert refresh_segment(segment)["count"] == 1
    _person("b", vip)  # joins the rule now, not the materialised membership yet
    body = api.get(f"{URL}/{segment.pk}").json()
    assert (body["count"], body["member_count"]) == (2, 1)
    assert body["refreshed_at"] is not None

    refreshed = api.post(f"{URL}/{segment.pk}/refresh")
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json() == {"count": 2, "entered": 1, "left": 0, "baseline": False}
    assert SegmentMember.objects.filter(segment=segment).count() == 2
    assert api.get(f"{URL}/{segment.pk}").json()["member_count"] == 2
    ContactTag.objects.filter(contact=a).delete()
    assert api.get(f"{URL}/{segment.pk}").json()["count"] == 1


def test_the_list_is_paged_by_name_with_live_counts(api, system, vip):
    _person("a", vip)
    for name in ("Charlie", "Alpha", "Bravo"):
        do_create_segment(system, name, VIP)
    first = api.get(f"{URL}?page_size=2").json()
    assert [s["name"] for s in first["items"]] == ["Alpha", "Bravo"]
    assert (first["count"], first["page"], first["page_size"]) == (3, 1, 2)
    assert all(s["count"] == 1 for s in first["items"])
    second = api.get(f"{URL}?page_size=2&page=2").json()
    assert [s["name"] for s in second["items"]] == ["Charlie"]


def test_a_saved_rule_that_no_longer_compiles_has_no_count(api, system):
    field = CustomField.objects.create(key="size", label_en="Size", label_fa="سایز",
                                       type="number")
    do_create_segment(system, "Big", {"field": "contact.fields.size", "op": "gt", "value": 40})
    do_create_segment(system, "All", {"all": []})
    field.delete()
    items = {s["name"]: s["count"] for s in api.get(URL).json()["items"]}
    assert items == {"All": 0, "Big": None}


# --- members and preview ------------------------------------------------------------------------

def test_live_members_are_paged_like_the_contacts_list(api, system, vip):
    people = [_person(f"p{i}", vip) for i in range(3)]
    _person("outsider")
    segment = do_create_segment(system, "VIPs", VIP)
    page = api.get(f"{URL}/{segment.pk}/contacts?page_size=2").json()
    assert (page["count"], page["page"], page["page_size"]) == (3, 1, 2)
    assert [c["id"] for c in page["items"]] == [people[2].pk, people[1].pk]
    assert page["items"][0]["tags"] == ["vip"]
    # The same shape as the contacts API's items.
    listed = api.get("/api/v1/contacts").json()["items"][0]
    assert set(page["items"][0]) == set(listed)
    rest = api.get(f"{URL}/{segment.pk}/contacts?page_size=2&page=2").json()
    assert [c["id"] for c in rest["items"]] == [people[0].pk]


def test_erased_contacts_are_never_members(api, system, owner_actor):
    from peyvand.contacts.actions import do_erase_contact

    segment = do_create_segment(system, "All", {"all": []})
    _person("kept")
    do_erase_contact(owner_actor, _person("gone"))
    page = api.get(f"{URL}/{segment.pk}/contacts").json()
    assert [c["first_name"] for c in page["items"]] == ["kept"]


def test_preview_counts_a_rule_not_saved(api, vip):
    _person("a", vip)
    newest = _person("b", vip)
    _person("c")
    response = send(api, "post", f"{URL}/preview", {"rules": VIP})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert [c["id"] for c in body["items"]][0] == newest.pk
    assert body["items"][0]["tags"] == ["vip"]
    assert not Segment.objects.exists()


# --- the catalogue ------------------------------------------------------------------------------

def test_fields_lists_every_path_with_its_group(api, size_field):
    body = api.get(f"{URL}/fields").json()
    by_path = {f["path"]: f for f in body["items"]}
    assert body["count"] == len(body["items"])
    orders = by_path["orders.count"]
    assert orders["type"] == "number" and "between" in orders["ops"] and orders["in_last"]
    assert by_path["contact.fields.size"] == {**by_path["contact.fields.size"], "label": "Size",
                                              "group": "contact", "type": "number"}
    assert {c["value"] for c in by_path["contact.language"]["choices"]} == {"fa", "en"}
    assert "segment" in by_path
    groups = [g["key"] for g in body["groups"]]
    assert groups[0] == "contact" and set(groups) == {f["group"] for f in body["items"]}


def test_fields_are_labelled_in_the_callers_language(make_user, size_field):
    user = make_user("farsi", "analyst", language="fa")
    client = Client(headers={"authorization": "Bearer "
                             + do_create_token(Actor.system("test"), user, "t")})
    body = client.get(f"{URL}/fields").json()
    by_path = {f["path"]: f for f in body["items"]}
    assert by_path["contact.fields.size"]["label"] == "سایز"
    english = {f["path"]: f["label"] for f in
               client.get(f"{URL}/fields", headers={"accept-language": "en"}).json()["items"]}
    # The token user's language wins over the header, as everywhere in the API.
    assert english["contact.fields.size"] == "سایز"


# --- refused rules ------------------------------------------------------------------------------

@pytest.mark.parametrize("rules, where", [
    ({"all": [VIP, {"field": "contact.shoe", "op": "eq", "value": 1}]}, "rules.all[1].field"),
    ({"all": [VIP, {"field": "orders.count", "op": "contains", "value": 1}]}, "rules.all[1].op"),
    ({"any": [{"not": {"field": "orders.count", "op": "gt", "value": "many"}}]},
     "rules.any[0].not.value"),
    ({"field": "contact.tags", "op": "has", "value": "vip", "colour": "red"}, "rules"),
    ([VIP], "rules"),
])
@pytest.mark.parametrize("how", ["create", "preview", "update"])
def test_a_bad_rule_is_400_naming_its_node(api, system, rules, where, how):
    if how == "create":
        response = send(api, "post", URL, {"name": "Bad", "rules": rules})
    elif how == "preview":
        response = send(api, "post", f"{URL}/preview", {"rules": rules})
    else:
        segment = do_create_segment(system, "Good", VIP)
        response = send(api, "patch", f"{URL}/{segment.pk}", {"rules": rules})
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["errors"]) == [where], body
    assert body["detail"].startswith(where)
    assert Segment.objects.exclude(name="Good").count() == 0
    assert all(s.rules == VIP for s in Segment.objects.all())


def test_a_cycle_is_400_naming_the_node(api, system):
    inner = do_create_segment(system, "Inner", VIP)
    outer = do_create_segment(system, "Outer", {"all": [{"field": "segment", "op": "eq",
                                                         "value": inner.pk}]})
    response = send(api, "patch", f"{URL}/{inner.pk}",
                    {"rules": {"any": [VIP, {"field": "segment", "op": "in",
                                             "value": [outer.pk]}]}})
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["rules.any[1].value"]
    itself = send(api, "patch", f"{URL}/{inner.pk}",
                  {"rules": {"field": "segment", "op": "eq", "value": inner.pk}})
    assert list(itself.json()["errors"]) == ["rules.value"]
    inner.refresh_from_db()
    assert inner.rules == VIP


def test_a_segment_in_use_cannot_be_deleted(api, system):
    inner = do_create_segment(system, "Inner", VIP)
    do_create_segment(system, "Outer", {"field": "segment", "op": "eq", "value": inner.pk})
    response = api.delete(f"{URL}/{inner.pk}")
    assert response.status_code == 409, response.content
    assert "Outer" in response.json()["detail"]
    assert Segment.objects.filter(pk=inner.pk).exists()


def test_the_body_is_strict(api):
    response = send(api, "post", URL, {"name": "X", "rules": VIP, "colour": "red"})
    assert response.status_code == 422 and "colour" in response.json()["errors"]
    assert send(api, "post", URL, {"name": 5, "rules": VIP}).status_code == 422
    assert not Segment.objects.exists()


# --- not found ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method, tail", [
    ("get", ""), ("patch", ""), ("delete", ""), ("get", "/contacts"), ("post", "/refresh")])
@pytest.mark.parametrize("segment_id", ["999999", "abc"])
def test_unknown_segments_are_404(api, method, tail, segment_id):
    response = send(api, method, f"{URL}/{segment_id}{tail}", {})
    assert response.status_code == 404, response.content
    assert response.json()["detail"]


# --- roles --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, writes", [
    ("owner", True), ("marketer", True), ("analyst", True), ("reviewer", False),
    ("support", False)])
def test_every_role_reads_and_planners_write(api_for, system, vip, role, writes):
    client = api_for(role)
    _person("a", vip)
    segment = do_create_segment(system, "VIPs", VIP)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}/{segment.pk}").json()["count"] == 1
    assert client.get(f"{URL}/{segment.pk}/contacts").json()["count"] == 1
    assert client.get(f"{URL}/fields").status_code == 200
    assert send(client, "post", f"{URL}/preview", {"rules": VIP}).json()["count"] == 1

    expected = 201 if writes else 403
    assert send(client, "post", URL, {"name": "New", "rules": VIP}).status_code == expected
    expected = 200 if writes else 403
    assert send(client, "patch", f"{URL}/{segment.pk}", {"name": "Renamed"}).status_code == \
        expected
    assert client.post(f"{URL}/{segment.pk}/refresh").status_code == expected
    assert client.delete(f"{URL}/{segment.pk}").status_code == (204 if writes else 403)
    assert Segment.objects.filter(pk=segment.pk).exists() is not writes


def test_no_token_is_401(client):
    assert client.get(URL).status_code == 401


def test_the_openapi_documents_the_rule_grammar(client):
    spec = client.get("/api/v1/openapi.json").json()
    rules = spec["components"]["schemas"]["SegmentIn"]["properties"]["rules"]
    assert rules["type"] == "object"
    for words in ('{"all": [rule', "in_last", "within_next", "`orders.total_spent`",
                  "contact.fields.<key>", "rules.all[1].op", "/api/v1/segments/fields"):
        assert words in rules["description"], words
    assert rules["examples"][0]["all"][0]["field"] == "orders.total_spent"
    preview = spec["components"]["schemas"]["SegmentPreviewIn"]["properties"]["rules"]
    assert preview["description"] == rules["description"]


def test_the_schema_names_are_the_segments_own():
    # ninja names an OpenAPI component after its class: a name another router uses would
    # silently replace that router's schema in the document.
    import inspect

    from ninja import Schema

    from peyvand.audiences import api as mine
    from peyvand.base.app_modules import app_modules

    def schemas(module):
        return {name for name, c in inspect.getmembers(module, inspect.isclass)
                if c.__module__ == module.__name__ and issubclass(c, Schema)}

    others = set().union(*(schemas(m) for m in app_modules("api") if m is not mine))
    assert "SegmentOut" in schemas(mine) and not schemas(mine) & others
