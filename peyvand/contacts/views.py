"""Web pages of contacts: the list, create and edit, one contact (notes, merge, export,
erase), tags and custom fields. Thin: parse, call contacts.actions / queries, render.

A little over 400 lines: each page is short, and tags and custom fields are the schema
pages of the same people; they would move to a module of their own as they grow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.base.normalise import InvalidValue, ascii_digits
from peyvand.base.roles import require
from peyvand.base.templatetags.peyvand_ui import (
    fadigits,
    isolate_text,
    ltr_text,
    origin_label,
    page_language,
)
from peyvand.base.views import paginate, ui_actor
from peyvand.contacts.actions import (
    MERGE_RULE,
    ContactInvalid,
    IdentityConflict,
    do_add_note,
    do_create_contact,
    do_erase_contact,
    do_export_contact,
    do_merge_contacts,
    do_update_contact,
    do_upsert_contact,
    merge_preview,
)
from peyvand.contacts.fields import do_delete_custom_field, do_save_custom_field
from peyvand.contacts.forms import (
    ContactFilterForm,
    ContactForm,
    CustomFieldForm,
    MergePickForm,
    NoteForm,
    TagForm,
)
from peyvand.contacts.models import Contact, CustomField, FieldValue, Identity, Tag
from peyvand.contacts.queries import access_contact, search_contacts, with_identities
from peyvand.contacts.tag_actions import (
    do_create_tag,
    do_delete_tag,
    do_rename_tag,
    tags_with_counts,
)
from peyvand.contacts.templatetags.timeline import contact_field_labels
from peyvand.contacts.timeline import timeline_for

PER_PAGE = 25


def _labels(custom_fields) -> dict[str, str]:
    """Readable names for the keys actions report (changed fields, merge rows)."""
    labels = contact_field_labels()
    labels.update(identities=_("E-mails and mobiles"), tags=_("Tags"))
    lang = page_language()
    labels.update({f"fields.{cf.key}": cf.label(lang) for cf in custom_fields})
    return labels


def _split_identities(contact: Contact) -> None:
    # From the prefetched identities: no query per row.
    idents = list(contact.identities.all())
    setattr(contact, "emails", [i.value for i in idents if i.kind == Identity.Kind.EMAIL])  # noqa: B010
    setattr(contact, "phones", [i.value for i in idents if i.kind == Identity.Kind.PHONE])  # noqa: B010


# --- list ---------------------------------------------------------------------------------

@login_required
def contact_list(request):
    actor = ui_actor(request)
    require(actor, "contacts.view")
    custom_fields = list(CustomField.objects.all())
    tags = list(Tag.objects.values_list("name", flat=True))
    form = ContactFilterForm(request.GET, tags=tags, custom_fields=custom_fields,
                             language=page_language())
    status = 200
    if form.is_valid():
        args = form.search_args()
        try:
            found = search_contacts(actor, **args)
        except InvalidValue as exc:
            form.add_error(exc.field if exc.field in ("field", "op") else "value",
                           str(exc.message))
            found = Contact.objects.none()
    else:  # an unknown condition or NUL: the form shows the reason, nothing is searched
        args, found, status = {}, Contact.objects.none(), 400
    page = paginate(request, with_identities(found), PER_PAGE)
    for contact in page:
        _split_identities(contact)
    filtered = any(args.values()) or bool(form.errors)
    # "Nothing yet" and "nothing matches" need different next steps.
    empty_db = not page.object_list and not filtered and not Contact.objects.live().exists()
    # The bulk bar's "all N matching" acts on this search (its names on the act page).
    bulk_fields = [("tag_filter" if k == "tag" else k, v) for k, v in args.items() if v]
    return render(request, "contacts/contact_list.html", {
        "form": form, "page": page, "filtered": filtered, "empty_db": empty_db,
        "custom_fields": custom_fields, "bulk_fields": bulk_fields,
    }, status=status)


# --- create / edit ------------------------------------------------------------------------

def _conflict(exc: IdentityConflict, form: ContactForm) -> dict:
    owner = Contact.objects.filter(pk=exc.owner_id).first()
    is_email = exc.field == Identity.Kind.EMAIL
    form.add_error("emails" if is_email else "phones",
                   _("%(value)s already belongs to another contact.")
                   % {"value": ltr_text(exc.value)})
    return {"value": exc.value, "owner": owner, "is_email": is_email}


@login_required
def contact_create(request):
    actor = ui_actor(request)
    require(actor, "contacts.edit")
    custom_fields = list(CustomField.objects.all())
    form = ContactForm(request.POST or None, custom_fields=custom_fields, language=page_language())
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("into_existing"):
                # The person asked to add what they typed to the contact that holds it.
                contact = do_upsert_contact(actor, form.raw()).contact
            else:
                contact = do_create_contact(actor, form.raw())
        except ContactInvalid as exc:
            form.add_domain_errors(exc.errors)
        except IdentityConflict as exc:
            conflict = _conflict(exc, form)
        else:
            messages.success(request, _("Contact “%(name)s” saved.")
                             % {"name": isolate_text(contact.display_name)})
            return redirect("contacts:contact_detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {
        "form": form, "contact": None, "conflict": conflict,
        "tag_names": Tag.objects.values_list("name", flat=True)})


@login_required
def contact_edit(request, pk: int):
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    require(actor, "contacts.edit")
    if contact.erased_at:
        messages.error(request, _("This contact was erased and cannot be changed."))
        return redirect("contacts:contact_detail", pk=contact.pk)
    custom_fields = list(CustomField.objects.all())
    lang = page_language()
    if request.method == "POST":
        form = ContactForm(request.POST, custom_fields=custom_fields, language=lang)
    else:
        form = ContactForm(initial=ContactForm.initial_for(contact, lang),
                           custom_fields=custom_fields, language=lang)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            changed = do_update_contact(actor, contact, form.raw())
        except ContactInvalid as exc:
            form.add_domain_errors(exc.errors)
        except IdentityConflict as exc:
            conflict = _conflict(exc, form)
        else:
            if changed:
                messages.success(request, _("Changes saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("contacts:contact_detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {
        "form": form, "contact": contact, "conflict": conflict,
        "tag_names": Tag.objects.values_list("name", flat=True)})


# --- detail, notes ------------------------------------------------------------------------

def _detail(request, actor, contact: Contact, note_form: NoteForm | None = None, status=200):
    custom_fields = list(CustomField.objects.all())
    _split_identities(contact)
    externals = [i for i in contact.identities.all() if i.kind == Identity.Kind.EXTERNAL]
    values = (FieldValue.objects.filter(contact=contact).select_related("field")
              .order_by("field__position", "field__id"))
    return render(request, "contacts/contact_detail.html", {
        "contact": contact,
        "externals": externals,
        "values": values,
        "tags": contact.tags.all(),
        "notes": contact.notes.all()[:50],
        "timeline": paginate(request, timeline_for(contact.pk), 20, "tpage"),
        "labels": _labels(custom_fields),
        "note_form": note_form or NoteForm(),
    }, status=status)


@login_required
def contact_detail(request, pk: int):
    actor = ui_actor(request)
    return _detail(request, actor, access_contact(actor, pk))


@login_required
@require_POST
def note_add(request, pk: int):
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        do_add_note(actor, contact, form.cleaned_data.get("body", ""))
    except ContactInvalid as exc:
        form.add_domain_errors(exc.errors)
        return _detail(request, actor, contact, form, status=400)
    messages.success(request, _("Note added."))
    return redirect("contacts:contact_detail", pk=contact.pk)


# --- merge --------------------------------------------------------------------------------

@login_required
def merge_pick(request, pk: int):
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    require(actor, "contacts.merge")
    form = MergePickForm(request.GET)
    form.is_valid()
    q = (form.cleaned_data.get("q") or "").strip()
    results: list[Contact] = []
    if q:
        number = ascii_digits(q).lstrip("#").strip()
        if number.isdigit():
            results += list(Contact.objects.live().filter(pk=int(number)).exclude(pk=contact.pk))
        results += [c for c in with_identities(search_contacts(actor, q=q))
                    .exclude(pk=contact.pk)[:20] if c not in results]
        for other in results:
            _split_identities(other)
    return render(request, "contacts/merge_pick.html", {
        "contact": contact, "form": form, "q": q, "results": results})


@login_required
def merge_preview_view(request, pk: int, other: int):
    actor = ui_actor(request)
    survivor = access_contact(actor, pk)
    other_contact = access_contact(actor, other)
    require(actor, "contacts.merge")
    if survivor.pk == other_contact.pk:
        messages.error(request, _("Choose a different contact to merge."))
        return redirect("contacts:merge_pick", pk=survivor.pk)
    if request.method == "POST":
        try:
            do_merge_contacts(actor, survivor, [other_contact])
        except ContactInvalid as exc:
            messages.error(request, " ".join(str(m) for m in exc.errors.values()))
            return redirect("contacts:contact_detail", pk=survivor.pk)
        messages.success(request, _("Contact #%(other)s was merged into this contact.")
                         % {"other": fadigits(other)})
        return redirect("contacts:contact_detail", pk=survivor.pk)
    labels = _labels(CustomField.objects.all())
    rows = merge_preview(survivor, other_contact)
    # Coded values read as words: "fa" as Persian, "ui" as Web app.
    readable: dict[str, Callable[[Any], Any]] = {
        "language": dict(Contact.Language.choices).get, "source": origin_label}
    for row in rows:
        row["label"] = labels.get(row["field"], row["field"])
        if row["field"] in readable:
            for side in ("keep", "other", "result"):
                if row[side]:
                    row[side] = readable[row["field"]](row[side]) or row[side]
    return render(request, "contacts/merge_preview.html", {
        "survivor": survivor, "other": other_contact, "rows": rows, "rule": MERGE_RULE,
        "moving": other_contact.identities.all(), "moving_tags": other_contact.tags.all(),
        "erased": bool(survivor.erased_at or other_contact.erased_at)})


# --- export, erase ------------------------------------------------------------------------

@login_required
@require_POST
def contact_export(request, pk: int):
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    data = do_export_contact(actor, contact)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


@login_required
def contact_erase(request, pk: int):
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    require(actor, "contacts.erase")
    if contact.erased_at:
        messages.info(request, _("This contact was erased already."))
        return redirect("contacts:contact_detail", pk=contact.pk)
    if request.method == "POST":
        do_erase_contact(actor, contact)
        messages.success(request, _("The contact’s personal data was erased."))
        return redirect("contacts:contact_detail", pk=contact.pk)
    counts = {
        "identities": contact.identities.count(),
        "notes": contact.notes.count(),
        "values": contact.field_values.count(),
        "tags": contact.tags.count(),
        "events": contact.timeline.count(),
    }
    return render(request, "contacts/contact_erase.html", {"contact": contact, "counts": counts})


# --- tags ---------------------------------------------------------------------------------

@login_required
def tag_list(request):
    actor = ui_actor(request)
    require(actor, "contacts.view")
    form = TagForm(request.POST or None)
    if request.method == "POST":
        require(actor, "schema.manage")
        form.is_valid()
        try:
            tag = do_create_tag(actor, form.cleaned_data.get("name", ""))
        except ContactInvalid as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(request, _("Tag “%(name)s” created.")
                             % {"name": isolate_text(tag.name)})
            return redirect("contacts:tag_list")
    return render(request, "contacts/tag_list.html", {"tags": tags_with_counts(), "form": form})


@login_required
def tag_rename(request, pk: int):
    actor = ui_actor(request)
    require(actor, "schema.manage")
    tag = get_object_or_404(Tag, pk=pk)
    form = TagForm(request.POST or None, initial={"name": tag.name})
    if request.method == "POST":
        form.is_valid()
        try:
            do_rename_tag(actor, tag, form.cleaned_data.get("name", ""))
        except ContactInvalid as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(request, _("Tag renamed to “%(name)s”.")
                             % {"name": isolate_text(tag.name)})
            return redirect("contacts:tag_list")
    return render(request, "contacts/tag_form.html", {"tag": tag, "form": form})


@login_required
def tag_delete(request, pk: int):
    actor = ui_actor(request)
    require(actor, "schema.manage")
    tag = get_object_or_404(tags_with_counts(), pk=pk)
    if request.method == "POST":
        name = tag.name
        count = do_delete_tag(actor, tag)
        messages.success(request, _("Tag “%(name)s” deleted; contacts that lost it: %(count)s.")
                         % {"name": isolate_text(name), "count": fadigits(count)})
        return redirect("contacts:tag_list")
    return render(request, "contacts/tag_delete.html", {"tag": tag})


# --- custom fields ------------------------------------------------------------------------

@login_required
def field_list(request):
    require(ui_actor(request), "contacts.view")
    fields = CustomField.objects.annotate(value_count=Count("values"))
    return render(request, "contacts/field_list.html", {"fields": fields})


def _field_form(request, instance: CustomField | None):
    actor = ui_actor(request)
    require(actor, "schema.manage")
    initial = CustomFieldForm.initial_for(instance) if instance else None
    form = CustomFieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            field = do_save_custom_field(actor, instance, **form.cleaned_data)
        except InvalidValue as exc:
            form.add_domain_error(exc.field, exc.message)
        else:
            messages.success(request, _("Field “%(label)s” saved.")
                             % {"label": isolate_text(field.label(page_language()))})
            return redirect("contacts:field_list")
    return render(request, "contacts/field_form.html", {"form": form, "field": instance})


@login_required
def field_create(request):
    return _field_form(request, None)


@login_required
def field_edit(request, pk: int):
    require(ui_actor(request), "schema.manage")  # before the lookup, as _field_form's own
    return _field_form(request, get_object_or_404(CustomField, pk=pk))


@login_required
def field_delete(request, pk: int):
    actor = ui_actor(request)
    require(actor, "schema.manage")
    field = get_object_or_404(CustomField, pk=pk)
    if request.method == "POST":
        label = field.label(page_language())
        count = do_delete_custom_field(actor, field)
        messages.success(request, _("Field “%(label)s” deleted; values removed with it: "
                                    "%(count)s.")
                         % {"label": isolate_text(label), "count": fadigits(count)})
        return redirect("contacts:field_list")
    return render(request, "contacts/field_delete.html", {
        "field": field, "count": field.values.count()})
