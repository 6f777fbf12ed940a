"""REST API for contacts, tags and custom fields.

Thin: parse input, build an API Actor, call contacts.actions / queries / fields /
tag_actions, render. Role checks live in those actions; errors become JSON in peyvand.api.

Over ~400 lines on purpose: the request and response schemas (about half of it) sit next
to the thin handlers that use them, so one face's OpenAPI shape reads in one place.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Annotated, Any, Literal

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (  # noqa: I001
    DB_INT,
    ERRORS,
    MAX_BULK_IDS,
    Body,
    ErrorOut,
    NumberOrText,
    Paging,
    Status,
    api_actor,
    one_of,
    page_of,
)
from peyvand.base.actor import Actor
from peyvand.base.normalise import normalise_text
from peyvand.base.roles import require
from peyvand.contacts.actions import (
    MERGE_RULE,
    ContactInvalid,
    do_add_note,
    do_erase_contact,
    do_export_contact,
    do_merge_contacts,
    do_tag_contacts,
    do_update_contact,
    do_upsert_contact,
    merge_preview,
)
from peyvand.contacts.fields import OPS, do_delete_custom_field, do_save_custom_field
from peyvand.contacts.models import Contact, CustomField, FieldValue, Identity, Tag
from peyvand.contacts.queries import access_contact, search_contacts, with_identities
from peyvand.contacts.tag_actions import (
    do_create_tag,
    do_delete_tag,
    do_rename_tag,
    tags_with_counts,
)
from peyvand.contacts.timeline import timeline_for

router = Router(tags=["contacts"])


class ExternalIdIn(Body):
    source: str | None = None
    id: NumberOrText | None = Field(None, description="shops' ids are often numbers")


FieldInput = str | int | float | bool | None


class ContactIn(Body):
    email: str | None = None
    emails: list[str | None] | str | None = None
    phone: NumberOrText | None = Field(None, description="any form: 0912…, +98 912…, "
                                                          "۰۹۱۲…, or the number 9121234567")
    phones: list[NumberOrText | None] | str | None = None
    external_ids: list[ExternalIdIn] | None = None
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = Field(None, description="fa or en, in any case")
    timezone: str | None = None
    birthday: str | None = Field(None, description="1403/02/12 (Jalali) or 2024-05-01")
    national_id: str | None = None
    source: str | None = None
    tags: list[str] | str | None = None
    fields: dict[str, FieldInput] | None = Field(None, description="custom field key: value")


class ContactFilter(Paging):
    q: str = Field("", description="name, e-mail, mobile in any digits or spelling")
    tag: str = ""
    field: str = Field("", description="custom field key to filter on")
    op: Literal[OPS] = "eq"  # type: ignore[valid-type]
    value: str = ""


class MergeIn(Body):
    other_id: DB_INT


class NoteIn(Body):
    body: str


class TagIn(Body):
    name: str


class TagContactsIn(Body):
    contact_ids: list[DB_INT] = Field(..., max_length=MAX_BULK_IDS)
    remove: bool = False


# A list, or one string separated by commas or new lines; each choice is stored as text(500).
Choices = list[Annotated[str, Field(max_length=500)]] | Annotated[str, Field(max_length=20_000)] \
    | None


class FieldIn(Body):
    key: str = ""
    label_fa: str | None = Field("", max_length=100)
    label_en: str | None = Field("", max_length=100)
    type: Annotated[str, one_of(*CustomField.Type.values)]
    choices: Choices = None


class FieldPatch(Body):
    key: str | None = None
    label_fa: str | None = Field(None, max_length=100)
    label_en: str | None = Field(None, max_length=100)
    type: Annotated[str, one_of(*CustomField.Type.values)] | None = None
    choices: Choices = None


# --- output -------------------------------------------------------------------------------------

class ExternalIdOut(Schema):
    source: str
    id: str


class ContactOut(Schema):
    id: int
    display_name: str
    first_name: str
    last_name: str
    language: str
    timezone: str
    birthday: dt.date | None
    national_id: str
    source: str
    emails: list[str]
    phones: list[str]
    external_ids: list[ExternalIdOut]
    tags: list[str]
    fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    erased_at: dt.datetime | None


class UpsertOut(ContactOut):
    created: bool
    merged_ids: list[int] = Field(description="contacts merged into this one by the upsert")


class ContactPage(Schema):
    items: list[ContactOut]
    count: int
    page: int
    page_size: int


class MergePreviewOut(Schema):
    rows: list[dict[str, Any]]
    rule: str


class NoteOut(Schema):
    id: int
    body: str
    author: str
    created_at: dt.datetime


class EventOut(Schema):
    id: int
    kind: str
    at: dt.datetime
    actor: str
    data: Any


class EventPage(Schema):
    items: list[EventOut]
    count: int
    page: int
    page_size: int


class TagOut(Schema):
    name: str
    contact_count: int


class TagList(Schema):
    items: list[TagOut]
    count: int


class TagDeletedOut(Schema):
    deleted: str
    contact_count: int = Field(description="contacts that lost the tag")


class TaggedOut(Schema):
    tag: str
    changed: int


class FieldOut(Schema):
    key: str
    label_fa: str
    label_en: str
    type: str
    choices: list[str]
    position: int


class FieldList(Schema):
    items: list[FieldOut]
    count: int


class FieldDeletedOut(Schema):
    deleted: str
    values_removed: int


# --- helpers ------------------------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    """Custom-field values as JSON: numbers as numbers, dates as ISO strings."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def with_fields(qs: QuerySet) -> QuerySet:
    return with_identities(qs).prefetch_related(
        Prefetch("field_values", queryset=FieldValue.objects.select_related("field")))


def contact_out(contact: Contact) -> dict[str, Any]:
    """Reads only prefetched relations (see with_fields), so lists cost fixed queries."""
    idents = list(contact.identities.all())
    data = {name: getattr(contact, name) for name in (
        "id", "display_name", "first_name", "last_name", "language", "timezone", "birthday",
        "national_id", "source", "created_at", "updated_at", "erased_at")}
    data["emails"] = [i.value for i in idents if i.kind == Identity.Kind.EMAIL]
    data["phones"] = [i.value for i in idents if i.kind == Identity.Kind.PHONE]
    data["external_ids"] = [{"source": i.source, "id": i.value} for i in idents
                            if i.kind == Identity.Kind.EXTERNAL]
    data["tags"] = sorted(t.name for t in contact.tags.all())
    data["fields"] = {fv.field.key: _json_value(fv.value) for fv in contact.field_values.all()}
    return data


def _load(pk: int) -> dict[str, Any]:
    return contact_out(with_fields(Contact.objects.filter(pk=pk)).get())


def _other(actor: Actor, other_id: int) -> Contact:
    """The second contact of a merge; a missing one is a bad request, not a missing page."""
    try:
        return access_contact(actor, other_id)
    except Http404:
        raise ContactInvalid({"other_id": _("There is no contact #%(id)s.") % {"id": other_id}})


def _path_text(value: str) -> str:
    """A name taken from the URL; NUL is dropped as the body validators refuse it."""
    return value.replace("\x00", "")


def _tag(name: str) -> Tag:
    tag = Tag.objects.named(normalise_text(_path_text(name))).first()
    if tag is None:
        raise Http404
    return tag


def _custom_field(key: str) -> CustomField:
    field = CustomField.objects.filter(key=_path_text(key)).first()
    if field is None:
        raise Http404
    return field


def _field_out(field: CustomField) -> dict[str, Any]:
    return {"key": field.key, "label_fa": field.label_fa, "label_en": field.label_en,
            "type": field.type, "choices": field.choices or [], "position": field.position}


# --- contacts -----------------------------------------------------------------------------------

@router.get("/contacts", response={200: ContactPage, ERRORS: ErrorOut})
def list_contacts(request, filters: Query[ContactFilter]):
    """Search contacts: «علي» finds «علی», «۰۹۱۲…» finds +98912…; optionally one tag and
    one custom-field condition (`field`, `op`, `value`)."""
    qs = search_contacts(api_actor(request), q=filters.q, tag=filters.tag, field=filters.field,
                         op=filters.op, value=filters.value)
    page, count = page_of(qs, filters)
    items = [contact_out(c) for c in with_fields(page)]
    return {"items": items, "count": count, "page": filters.page,
            "page_size": filters.page_size}


@router.post("/contacts", response={200: UpsertOut, 201: UpsertOut, ERRORS: ErrorOut})
def upsert_contact(request, payload: ContactIn):
    """Create a contact, or update the one already holding an e-mail, mobile or external id
    (201 when created, 200 when found). Identities held by several contacts merge them."""
    result = do_upsert_contact(api_actor(request), payload.model_dump(exclude_unset=True))
    body = {**_load(result.contact.pk), "created": result.created,
            "merged_ids": result.merged_ids}
    return Status(201 if result.created else 200, body)


@router.get("/contacts/{contact_id}", response={200: ContactOut, ERRORS: ErrorOut})
def get_contact(request, contact_id: int):
    return _load(access_contact(api_actor(request), contact_id).pk)


@router.patch("/contacts/{contact_id}", response={200: ContactOut, ERRORS: ErrorOut})
def update_contact(request, contact_id: int, payload: ContactIn):
    """Change only the keys given; lists given (emails, phones, tags) replace the old ones."""
    actor = api_actor(request)
    contact = access_contact(actor, contact_id)
    do_update_contact(actor, contact, payload.model_dump(exclude_unset=True))
    return _load(contact.pk)


@router.delete("/contacts/{contact_id}", response={204: None, ERRORS: ErrorOut})
def erase_contact(request, contact_id: int):
    """Erase the person's data (identities, names, notes, fields); an anonymous row stays."""
    actor = api_actor(request)
    do_erase_contact(actor, access_contact(actor, contact_id))
    return Status(204, None)


@router.get("/contacts/{contact_id}/merge-preview",
            response={200: MergePreviewOut, ERRORS: ErrorOut})
def preview_merge(request, contact_id: int, other_id: DB_INT):
    actor = api_actor(request)
    contact = access_contact(actor, contact_id)
    rows = merge_preview(contact, _other(actor, other_id))
    rows = [{k: _json_value(v) for k, v in row.items()} for row in rows]
    return {"rows": rows, "rule": str(MERGE_RULE)}


@router.post("/contacts/{contact_id}/merge", response={200: ContactOut, ERRORS: ErrorOut})
def merge_contacts(request, contact_id: int, payload: MergeIn):
    """Merge `other_id` into this contact, which survives and wins every conflict."""
    actor = api_actor(request)
    require(actor, "contacts.merge")  # the role first, then which contacts exist
    contact = access_contact(actor, contact_id)
    survivor = do_merge_contacts(actor, contact, [_other(actor, payload.other_id)])
    return _load(survivor.pk)


@router.get("/contacts/{contact_id}/export", response={200: dict[str, Any], ERRORS: ErrorOut})
def export_contact(request, contact_id: int):
    """Everything held about the person (audited)."""
    actor = api_actor(request)
    return do_export_contact(actor, access_contact(actor, contact_id))


@router.get("/contacts/{contact_id}/timeline", response={200: EventPage, ERRORS: ErrorOut})
def contact_timeline(request, contact_id: int, paging: Query[Paging]):
    contact = access_contact(api_actor(request), contact_id)
    page, count = page_of(timeline_for(contact.pk), paging)
    items = [{"id": e.pk, "kind": e.kind, "at": e.at, "actor": e.actor_label, "data": e.data}
             for e in page]
    return {"items": items, "count": count, "page": paging.page, "page_size": paging.page_size}


@router.post("/contacts/{contact_id}/notes", response={201: NoteOut, ERRORS: ErrorOut})
def add_note(request, contact_id: int, payload: NoteIn):
    actor = api_actor(request)
    note = do_add_note(actor, access_contact(actor, contact_id), payload.body)
    return Status(201, {"id": note.pk, "body": note.body, "author": note.author_label,
                        "created_at": note.created_at})


# --- tags ---------------------------------------------------------------------------------------
# Tag names may hold "/" (e.g. a Jalali date), hence {path:name}; the longer path comes first.

@router.get("/tags", response={200: TagList, ERRORS: ErrorOut}, tags=["tags"])
def list_tags(request):
    require(api_actor(request), "contacts.view")
    items = [{"name": t.name, "contact_count": t.contact_count} for t in tags_with_counts()]
    return {"items": items, "count": len(items)}


@router.post("/tags", response={201: TagOut, ERRORS: ErrorOut}, tags=["tags"])
def create_tag(request, payload: TagIn):
    tag = do_create_tag(api_actor(request), payload.name)
    return Status(201, {"name": tag.name, "contact_count": 0})


@router.post("/tags/{path:name}/contacts", response={200: TaggedOut, ERRORS: ErrorOut},
             tags=["tags"])
def tag_contacts(request, name: str, payload: TagContactsIn):
    """Add the tag to (or with `remove`, take it from) many contacts; the tag is created if
    new. `changed` counts contacts whose tags changed."""
    name = normalise_text(_path_text(name))
    changed = do_tag_contacts(api_actor(request), payload.contact_ids, name, remove=payload.remove)
    return {"tag": name, "changed": changed}


@router.patch("/tags/{path:name}", response={200: TagOut, ERRORS: ErrorOut}, tags=["tags"])
def rename_tag(request, name: str, payload: TagIn):
    actor = api_actor(request)
    tag = do_rename_tag(actor, _tag(name), payload.name)
    return {"name": tag.name, "contact_count": tag.contacttag_set.count()}


@router.delete("/tags/{path:name}", response={200: TagDeletedOut, ERRORS: ErrorOut},
               tags=["tags"])
def delete_tag(request, name: str):
    tag = _tag(name)
    count = do_delete_tag(api_actor(request), tag)
    return {"deleted": tag.name, "contact_count": count}


# --- custom fields ------------------------------------------------------------------------------

@router.get("/fields", response={200: FieldList, ERRORS: ErrorOut}, tags=["fields"])
def list_fields(request):
    require(api_actor(request), "contacts.view")
    items = [_field_out(f) for f in CustomField.objects.all()]
    return {"items": items, "count": len(items)}


@router.post("/fields", response={201: FieldOut, ERRORS: ErrorOut}, tags=["fields"])
def create_field(request, payload: FieldIn):
    """Define a custom field; `type` is text, number, date, choice or boolean."""
    data = payload.model_dump()
    data["label_fa"], data["label_en"] = data["label_fa"] or "", data["label_en"] or ""
    return Status(201, _field_out(do_save_custom_field(api_actor(request), **data)))


@router.patch("/fields/{key}", response={200: FieldOut, ERRORS: ErrorOut}, tags=["fields"])
def update_field(request, key: str, payload: FieldPatch):
    field = _custom_field(key)
    data = {"key": field.key, "label_fa": field.label_fa, "label_en": field.label_en,
            "type": field.type, "choices": field.choices}
    data.update({k: v for k, v in payload.model_dump(exclude_unset=True).items()
                 if v is not None})
    return _field_out(do_save_custom_field(api_actor(request), field, **data))


@router.delete("/fields/{key}", response={200: FieldDeletedOut, ERRORS: ErrorOut},
               tags=["fields"])
def delete_field(request, key: str):
    field = _custom_field(key)
    removed = do_delete_custom_field(api_actor(request), field)
    return {"deleted": field.key, "values_removed": removed}
