"""Owner-defined custom fields: typed parsing of raw input, and filters that use the index."""

from __future__ import annotations

import decimal
import re
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from peyvand.base.actor import Actor
from peyvand.base.dates import parse_date
from peyvand.base.language import join_list, page_language
from peyvand.base.normalise import InvalidValue, ascii_digits, normalise_text
from peyvand.base.roles import require
from peyvand.contacts.models import CustomField, FieldValue

_TRUE = {"1", "true", "yes", "y", "on", "بله", "آره", "درست", "دارد"}
_FALSE = {"0", "false", "no", "n", "off", "خیر", "نه", "نادرست", "ندارد"}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
OPS = ("eq", "contains", "gt", "lt", "gte", "lte", "empty")
OP_LABELS = {
    "eq": gettext_lazy("is"), "contains": gettext_lazy("contains"),
    "gt": gettext_lazy("after / more than"), "lt": gettext_lazy("before / less than"),
    "gte": gettext_lazy("on or after / at least"), "lte": gettext_lazy("on or before / at most"),
    "empty": gettext_lazy("is empty"),
}
_ORDERED = ("eq", "gt", "lt", "gte", "lte", "empty")
OPS_FOR_TYPE: dict[str, tuple[str, ...]] = {
    CustomField.Type.TEXT: ("eq", "contains", "empty"),
    CustomField.Type.NUMBER: _ORDERED,
    CustomField.Type.DATE: _ORDERED,
    CustomField.Type.CHOICE: ("eq", "empty"),
    CustomField.Type.BOOLEAN: ("eq", "empty"),
}


def parse_field_value(field: CustomField, raw: Any) -> Any:
    """The typed value to store for `raw`, None for empty; InvalidValue names the field."""
    name = f"fields.{field.key}"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = field.type
    if kind == CustomField.Type.TEXT:
        text = normalise_text(str(raw))
        if len(text) > 500:
            raise InvalidValue(name, _("At most 500 characters."), raw)
        return text
    if kind == CustomField.Type.CHOICE:
        text = normalise_text(str(raw))
        if text not in field.choices:
            raise InvalidValue(name, _("“%(value)s” is not one of: %(choices)s.")
                               % {"value": raw, "choices": "، ".join(field.choices)}, raw)
        return text
    if kind == CustomField.Type.NUMBER:
        if isinstance(raw, bool):
            raise InvalidValue(name, _("A number is required."), raw)
        text = ascii_digits(str(raw)).strip().replace("٬", "").replace(",", "")
        text = text.replace("٫", ".")
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise InvalidValue(name, _("“%(value)s” is not a number.") % {"value": raw}, raw)
        if not number.is_finite() or abs(number) >= 10**16:
            raise InvalidValue(name, _("“%(value)s” is out of range.") % {"value": raw}, raw)
        return number.quantize(decimal.Decimal("0.0001"))
    if kind == CustomField.Type.DATE:
        return parse_date(raw, name)
    if kind == CustomField.Type.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = normalise_text(str(raw)).casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidValue(name, _("Answer yes or no."), raw)
    raise InvalidValue(name, _("Unknown field type."), raw)


def fields_by_key() -> dict[str, CustomField]:
    return {f.key: f for f in CustomField.objects.all()}


def set_field_value(contact_id: int, field: CustomField, value: Any) -> tuple[Any, Any]:
    """Store one parsed value (None deletes); returns (old, new)."""
    column = FieldValue.COLUMN[field.type]
    existing = FieldValue.objects.filter(contact_id=contact_id, field=field).first()
    old = getattr(existing, column) if existing else None
    if value is None:
        if existing:
            existing.delete()
        return old, None
    if existing is None:
        FieldValue.objects.create(contact_id=contact_id, field=field, **{column: value})
    elif old != value:
        setattr(existing, column, value)
        existing.save(update_fields=[column])
    return old, value


def filter_by_field(qs: QuerySet, field: CustomField, op: str, raw: Any) -> QuerySet:
    """Contacts whose value for `field` matches; runs on FieldValue's (field, column) index."""
    allowed = OPS_FOR_TYPE[field.type]
    if op not in allowed:  # never quietly another condition than the one asked for
        raise InvalidValue("op", _("“%(op)s” is not a condition for the field “%(field)s”; "
                                   "it can be: %(allowed)s.") % {
            "op": OP_LABELS.get(op, op), "field": field.label(page_language()),
            "allowed": join_list(OP_LABELS[o] for o in allowed)}, op)
    column = FieldValue.COLUMN[field.type]
    if op == "empty":
        return qs.exclude(field_values__field=field)
    value = parse_field_value(field, raw)
    if op == "contains":
        lookup = f"{column}__icontains"
    elif op in ("gt", "lt", "gte", "lte"):
        lookup = f"{column}__{op}"
    else:
        lookup = column
    ids = FieldValue.objects.filter(field=field, **{lookup: value}).values("contact_id")
    return qs.filter(pk__in=ids)


# Persian letters in Latin, for a key made from a Persian label («سایز کفش» -> "sayz_kfsh").
_LATIN = str.maketrans({
    "ا": "a", "آ": "a", "أ": "a", "إ": "e", "ب": "b", "پ": "p", "ت": "t", "ث": "s", "ج": "j",
    "چ": "ch", "ح": "h", "خ": "kh", "د": "d", "ذ": "z", "ر": "r", "ز": "z", "ژ": "zh",
    "س": "s", "ش": "sh", "ص": "s", "ض": "z", "ط": "t", "ظ": "z", "ع": "", "غ": "gh", "ف": "f",
    "ق": "gh", "ک": "k", "ك": "k", "گ": "g", "ل": "l", "م": "m", "ن": "n", "و": "v", "ه": "h",
    "ة": "h", "ی": "y", "ي": "y", "ى": "y", "ئ": "y", "ؤ": "v", "ء": "", "\u200c": "_",
})


def _slug_key(text: str) -> str:
    return slugify(ascii_digits(text or "").translate(_LATIN)).replace("-", "_").strip("_")[:64]


def _generated_key(label_fa: str, label_en: str) -> str:
    """A key for a field defined by its label only: the English label, else the Persian one
    in Latin letters, else field_<n>; made unique with _2, _3 …"""
    base = _slug_key(label_en) or _slug_key(label_fa)
    if not _KEY.match(base):
        base = "field" if not base else f"field_{base}"[:64]
    if not _KEY.match(base):
        base = "field"
    taken = set(CustomField.objects.filter(key__startswith=base[:60]).values_list("key",
                                                                                  flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base[:60]}_{n}" in taken:
        n += 1
    return f"{base[:60]}_{n}"


def check_field_definition(*, key: str, label_fa: str, label_en: str, type: str,
                           choices: Any = None, instance: CustomField | None = None) -> dict:
    """Validate a custom-field definition; returns clean values or raises InvalidValue.
    Without a key, a new field gets one made from its label (a Persian label is enough); an
    existing field keeps its own."""
    if key:
        key = slugify(ascii_digits(key)).replace("-", "_")
    elif instance is not None:
        key = instance.key
    elif normalise_text(label_fa) or normalise_text(label_en):
        key = _generated_key(normalise_text(label_fa), normalise_text(label_en))
    if not _KEY.match(key):
        raise InvalidValue("key", _("Use lower-case Latin letters, digits and _ , starting "
                                    "with a letter."), key)
    clash = CustomField.objects.filter(key=key)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
        if instance.type != type and instance.values.exists():
            raise InvalidValue("type", _("The type of a field that holds values cannot change."))
    if clash.exists():
        raise InvalidValue("key", _("A field with the key “%(key)s” exists.") % {"key": key})
    if type not in CustomField.Type.values:
        raise InvalidValue("type", _("Unknown field type."), type)
    label_fa, label_en = normalise_text(label_fa), normalise_text(label_en)
    if not label_fa and not label_en:
        raise InvalidValue("label_fa", _("Give the field a label."))
    for name, label in (("label_fa", label_fa), ("label_en", label_en)):
        if len(label) > 100:
            raise InvalidValue(name, _("At most 100 characters."))
    if isinstance(choices, str):
        choices = [c for c in re.split(r"[\n,،]", choices)]
    clean_choices = [normalise_text(c) for c in (choices or []) if normalise_text(c)]
    if any(len(c) > 500 for c in clean_choices):
        raise InvalidValue("choices", _("At most 500 characters."))
    if type == CustomField.Type.CHOICE and not clean_choices:
        raise InvalidValue("choices", _("A choice field needs at least one choice."))
    if type != CustomField.Type.CHOICE:
        clean_choices = []
    return {"key": key, "label_fa": label_fa or label_en, "label_en": label_en or label_fa,
            "type": type, "choices": list(dict.fromkeys(clean_choices))}


@transaction.atomic
def do_save_custom_field(actor: Actor, instance: CustomField | None = None, **data) -> CustomField:
    require(actor, "schema.manage")
    clean = check_field_definition(instance=instance, **data)
    if instance is None:
        return CustomField.objects.create(**clean)
    for k, v in clean.items():
        setattr(instance, k, v)
    instance.save()
    return instance


@transaction.atomic
def do_delete_custom_field(actor: Actor, field: CustomField) -> int:
    require(actor, "schema.manage")
    count = field.values.count()
    field.delete()
    return count
