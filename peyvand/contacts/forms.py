"""Forms only shape what people type into the raw dicts the contact actions validate;
the actions' errors are put back next to the fields they concern."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from peyvand.base.dates import input_date
from peyvand.contacts.fields import OP_LABELS, OPS
from peyvand.contacts.models import Contact, CustomField, FieldValue, Identity

_LIST_SPLIT = re.compile(r"[,،\n]")
DATE_HINT = {"fa": "۱۳۷۰/۰۵/۱۲", "en": "1991-08-03"}


def split_list(text: str) -> list[str]:
    return [part.strip() for part in _LIST_SPLIT.split(text or "") if part.strip()]


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class DomainErrorsForm(forms.Form):
    """Puts {action field name: message} errors onto the form field they belong to."""

    error_fields: dict[str, str] = {}

    def add_domain_errors(self, errors: dict[str, Any]) -> None:
        for name, message in errors.items():
            target = self.error_fields.get(name, name)
            if target.startswith("fields."):
                target = "field_" + target.removeprefix("fields.")
            self.add_error(target if target in self.fields else None, str(message))


def _text(label, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=False, **kwargs)


class ContactForm(DomainErrorsForm):
    error_fields = {"email": "emails", "phone": "phones"}

    first_name = _text(_("First name"))
    last_name = _text(_("Last name"))
    emails = _text(_("E-mail addresses"), help_text=_("One per line."),
                   widget=forms.Textarea(attrs={"rows": 2, "dir": "ltr"}))
    phones = _text(_("Mobile numbers"), help_text=_("One per line, e.g. 0912 345 6789."),
                   widget=forms.Textarea(attrs={"rows": 2, "dir": "ltr"}))
    language = forms.ChoiceField(label=_("Language"), choices=Contact.Language.choices)
    timezone = forms.CharField(label=_("Time zone"), initial="Asia/Tehran",
                               widget=forms.TextInput(attrs={"dir": "ltr"}))
    birthday = _text(_("Birthday"))
    national_id = _text(_("National ID"), widget=forms.TextInput(attrs={"dir": "ltr",
                                                                        "inputmode": "numeric"}))
    tags = _text(_("Tags"), help_text=_("Separate with commas."),
                 widget=forms.TextInput(attrs={"list": "tag-names"}))

    def __init__(self, *args, custom_fields: list[CustomField], language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_fields = custom_fields
        self.ui_language = language  # not `language`: that is the contact's own field
        self.fields["birthday"].widget.attrs["placeholder"] = DATE_HINT[language]
        self.fields["birthday"].help_text = (
            _("Jalali, e.g. 1370/05/12.") if language == "fa" else _("e.g. 1991-08-03."))
        for cf in custom_fields:
            self.fields[f"field_{cf.key}"] = self._custom_input(cf)

    def _custom_input(self, cf: CustomField) -> forms.Field:
        label = cf.label(self.ui_language)
        if cf.type == CustomField.Type.CHOICE:
            return forms.ChoiceField(label=label, required=False,
                                     choices=[("", "—"), *[(c, c) for c in cf.choices]])
        if cf.type == CustomField.Type.BOOLEAN:
            return forms.ChoiceField(label=label, required=False,
                                     choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))])
        if cf.type == CustomField.Type.DATE:
            return _text(label, widget=forms.TextInput(
                attrs={"placeholder": DATE_HINT[self.ui_language]}))
        if cf.type == CustomField.Type.NUMBER:
            return _text(label, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
        return _text(label)

    def custom_bound_fields(self):
        return [self[f"field_{cf.key}"] for cf in self.custom_fields]

    def raw(self) -> dict[str, Any]:
        """The dict do_create_contact / do_update_contact expect."""
        data = self.cleaned_data
        raw: dict[str, Any] = {name: data[name] for name in (
            "first_name", "last_name", "language", "timezone", "birthday", "national_id")}
        raw["emails"] = split_lines(data["emails"])
        raw["phones"] = split_lines(data["phones"])
        raw["tags"] = split_list(data["tags"])
        if self.custom_fields:
            raw["fields"] = {cf.key: data.get(f"field_{cf.key}", "") for cf in self.custom_fields}
        return raw

    @classmethod
    def initial_for(cls, contact: Contact, language: str) -> dict[str, Any]:
        identities = list(contact.identities.all())
        initial: dict[str, Any] = {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "language": contact.language,
            "timezone": contact.timezone,
            "birthday": input_date(contact.birthday, language),
            "national_id": contact.national_id,
            "emails": "\n".join(i.value for i in identities if i.kind == Identity.Kind.EMAIL),
            "phones": "\n".join(i.value for i in identities if i.kind == Identity.Kind.PHONE),
            "tags": ", ".join(t.name for t in contact.tags.all()),
        }
        for fv in FieldValue.objects.filter(contact=contact).select_related("field"):
            initial[f"field_{fv.field.key}"] = input_value(fv.field, fv.value, language)
        return initial


def input_value(field: CustomField, value: Any, language: str) -> str:
    """A stored custom-field value as its input shows it back."""
    if value is None:
        return ""
    if field.type == CustomField.Type.DATE:
        return input_date(value, language)
    if field.type == CustomField.Type.BOOLEAN:
        return "yes" if value else "no"
    if field.type == CustomField.Type.NUMBER:
        return format(value.normalize(), "f")
    return str(value)


class NoteForm(DomainErrorsForm):
    body = forms.CharField(label=_("New note"), strip=True, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))


class ContactFilterForm(forms.Form):
    """The list page's search box, tag filter and one custom-field condition."""

    q = forms.CharField(label=_("Search"), required=False, widget=forms.SearchInput(
        attrs={"placeholder": _("Name, e-mail, mobile or national ID")}))
    # Plain text behind the selects: a stale link (a tag deleted since) filters to nothing
    # instead of failing the whole form.
    tag = forms.CharField(label=_("Tag"), required=False, widget=forms.Select)
    field = forms.CharField(label=_("Custom field"), required=False, widget=forms.Select)
    op = forms.ChoiceField(label=_("Condition"), required=False,
                           choices=[(op, OP_LABELS[op]) for op in OPS])
    value = forms.CharField(label=_("Value"), required=False)

    def __init__(self, *args, tags: list[str], custom_fields: list[CustomField], language: str,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].widget.choices = [("", _("Any tag")), *[(t, t) for t in tags]]
        self.fields["field"].widget.choices = [
            ("", _("No field condition")), *[(cf.key, cf.label(language)) for cf in custom_fields]]
        self.fields["value"].widget.attrs["placeholder"] = (
            _("e.g. 1403/02/12 for dates") if language == "fa" else _("e.g. 2024-05-01 for dates"))

    def search_args(self) -> dict[str, Any]:
        """Keyword arguments for search_contacts; a field condition without a value is none."""
        data = self.cleaned_data
        args = {"q": data["q"], "tag": data["tag"]}
        if data["field"] and (data["value"].strip() or data["op"] == "empty"):
            args.update(field=data["field"], op=data["op"] or "eq", value=data["value"])
        return args

    def is_filtered(self) -> bool:
        return any(self.search_args().values())


class CustomFieldForm(forms.Form):
    label_fa = forms.CharField(label=_("Label (Persian)"), required=False, max_length=100)
    label_en = forms.CharField(label=_("Label (English)"), required=False, max_length=100)
    key = forms.CharField(label=_("Key"), required=False, max_length=64,
                          help_text=_("Optional. Used by imports and the API; made from the "
                                      "label when left empty."),
                          widget=forms.TextInput(attrs={"dir": "ltr"}))
    type = forms.ChoiceField(label=_("Type"), choices=CustomField.Type.choices)
    choices = forms.CharField(label=_("Choices"), required=False,
                              help_text=_("For choice fields: one choice per line."),
                              widget=forms.Textarea(attrs={"rows": 4}))

    def add_domain_error(self, field: str, message: Any) -> None:
        self.add_error(field if field in self.fields else None, str(message))

    @staticmethod
    def initial_for(field: CustomField) -> dict[str, Any]:
        return {"label_fa": field.label_fa, "label_en": field.label_en, "key": field.key,
                "type": field.type, "choices": "\n".join(field.choices)}


class TagForm(DomainErrorsForm):
    name = forms.CharField(label=_("Tag name"), required=False, max_length=200)


class MergePickForm(forms.Form):
    q = forms.CharField(label=_("Find the other contact"), required=False,
                        widget=forms.SearchInput(attrs={
                            "placeholder": _("Name, e-mail, mobile or contact number")}))
