"""People and what we know of them. Other floors read these through contacts services."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from peyvand.base.language import local_digits


class ContactQuerySet(models.QuerySet):
    def live(self):
        """Contacts that still hold personal data (erased ones are anonymous shells)."""
        return self.filter(erased_at__isnull=True)


class Contact(models.Model):
    """One person, however many addresses and numbers they use."""

    class Language(models.TextChoices):
        FA = "fa", _("Persian")
        EN = "en", _("English")

    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices,
                                default=Language.FA)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Tehran")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    national_id = models.CharField(_("national ID"), max_length=10, blank=True, db_index=True)
    source = models.CharField(_("source"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Case-folded, Persian-normalised names and identities in every searchable form;
    # rebuilt by contacts.actions on every change.
    search_text = models.TextField(blank=True, editable=False)
    tags: models.ManyToManyField = models.ManyToManyField("Tag", through="ContactTag",
                                                          related_name="contacts")

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return display_name(self.pk, self.first_name, self.last_name, self.erased_at)


def display_name(pk: int, first_name: str, last_name: str, erased_at: dt.datetime | None) -> str:
    """How a contact is named everywhere; also for plain rows (merge fields in bulk)."""
    if erased_at:
        return str(_("Erased contact #%(id)s") % {"id": local_digits(pk)})
    name = f"{first_name} {last_name}".strip()
    return name or str(_("Contact #%(id)s") % {"id": local_digits(pk)})


class Identity(models.Model):
    """An address that reaches or identifies the person; unique across all contacts."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Mobile")
        EXTERNAL = "external", _("External ID")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # For external ids: the system that issued it ("woocommerce:myshop", "cookie"); else "".
    source = models.CharField(max_length=64, blank=True, default="")
    value = models.CharField(max_length=320)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source", "value"],
                                    name="identity_unique_value"),
        ]
        indexes = [models.Index(fields=["contact", "kind"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.value}" if self.source else self.value


def tag_key(name: str) -> str:
    """What makes two tag names the same tag: case, spaces and half-spaces do not count
    («VIP» = «vip» = «V I P», «نیم‌فاصله» = «نیم فاصله»)."""
    return re.sub(r"[\s\u200c]+", "", str(name or "")).casefold()


class TagQuerySet(models.QuerySet["Tag"]):
    def named(self, name: str) -> models.QuerySet:
        return self.filter(key=tag_key(name))

    def get_or_create_named(self, name: str) -> Tag:
        """The tag this name means, made with this spelling if there is none."""
        return self.get_or_create(key=tag_key(name), defaults={"name": name})[0]


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    # tag_key(name), kept by save(): unique, so «VIP» and «vip» cannot both exist.
    key = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.key = tag_key(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "key"}
        super().save(*args, **kwargs)


class ContactTag(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="contact_tag_once")]
        indexes = [models.Index(fields=["tag", "contact"])]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.tag_id}"


class CustomField(models.Model):
    """A field the shop owner defines ("postal code", "favourite size", ...)."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")
        BOOLEAN = "boolean", _("Yes/no")

    key = models.SlugField(_("key"), max_length=64, unique=True)
    label_fa = models.CharField(_("label (Persian)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.key

    def label(self, language: str) -> str:
        return self.label_fa if language == "fa" else self.label_en


class FieldValue(models.Model):
    """One typed value per (contact, field); one column per type so filters use an index."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    text_value = models.CharField(max_length=500, null=True, blank=True)
    number_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    date_value = models.DateField(null=True, blank=True)
    bool_value = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "field"], name="field_value_once"),
        ]
        indexes = [
            models.Index(fields=["field", "text_value"]),
            models.Index(fields=["field", "number_value"]),
            models.Index(fields=["field", "date_value"]),
            models.Index(fields=["field", "bool_value"]),
        ]

    COLUMN: dict[str, str] = {
        CustomField.Type.TEXT: "text_value",
        CustomField.Type.CHOICE: "text_value",
        CustomField.Type.NUMBER: "number_value",
        CustomField.Type.DATE: "date_value",
        CustomField.Type.BOOLEAN: "bool_value",
    }

    def __str__(self) -> str:
        return f"{self.field_id}={self.value}"

    @property
    def value(self):
        return getattr(self, self.COLUMN[self.field.type])


class Note(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    body = models.TextField(_("note"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    author_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:40]


class TimelineEvent(models.Model):
    """One entry in a contact's single ordered stream; every floor appends its own kinds."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)
    actor_label = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact", "-at", "-id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"
