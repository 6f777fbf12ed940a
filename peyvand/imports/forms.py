"""Forms of the import wizard: the upload, then one field choice per column."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from peyvand.imports.limits import max_upload_bytes, too_large_upload


class UploadForm(forms.Form):
    file = forms.FileField(label=_("CSV or Excel (XLSX) file"),
                           help_text=_("The first row names the columns. Any encoding Excel "
                                       "writes is fine, Persian included."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,"
                                                                  ".xlsx"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(str(too_large_upload().message))
        return upload


FILE_STATUSES = [
    ("", _("— from the file's status column —")),
    ("subscribed", _("Subscribed (e.g. Mailchimp's “subscribed” export)")),
    ("unsubscribed", _("Unsubscribed")),
    ("bounced", _("Cleaned or bounced")),
    ("complained", _("Complained (marked as spam)")),
]


class MappingForm(forms.Form):
    """`col_<i>`: the field column i goes into; `tag`: a tag for everyone imported; with
    `consent` (an owner), what the file says about subscriptions and the attestation."""

    tag = forms.CharField(label=_("Tag every imported contact with"), required=False,
                          max_length=64, help_text=_("Optional, e.g. “Nowruz fair 1403”."))

    def __init__(self, *args, headers: list[str], choices: list[tuple[str, Any]],
                 initial_targets: list[str], consent: bool = False, language: str = "fa",
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.consent = consent
        for i, (header, target) in enumerate(zip(headers, initial_targets, strict=True)):
            self.fields[f"col_{i}"] = forms.ChoiceField(label=header, choices=choices,
                                                        required=False, initial=target)
        if consent:
            from peyvand.consent.models import Channel, Topic

            self.fields["consent_status"] = forms.ChoiceField(
                label=_("Status of every row"), choices=FILE_STATUSES, required=False,
                help_text=_("For a file without a status column, such as one of "
                            "Mailchimp's per-status exports."))
            self.fields["consent_channel"] = forms.ChoiceField(
                label=_("Channel of the subscriptions"),
                choices=[("", _("— from the file's channel column —")), *Channel.choices],
                required=False)
            self.fields["consent_topics"] = forms.MultipleChoiceField(
                label=_("Topics every subscriber joins"), required=False,
                widget=forms.CheckboxSelectMultiple,
                choices=[(t.key, t.name(language)) for t in
                         Topic.objects.filter(active=True)])
            self.fields["consent_evidence"] = forms.CharField(
                label=_("Where the consent comes from"), required=False, max_length=300,
                widget=forms.TextInput(attrs={"dir": "auto"}),
                help_text=_("The tool, the list and the export, e.g. “listmonk, list "
                            "Newsletter (double opt-in), exported 1403/02/12”."))
            self.fields["attestation"] = forms.CharField(
                label=_("Your attestation"), required=False, max_length=2000,
                widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
                help_text=_("Required to import subscriptions. Say how and when these people "
                            "agreed to hear from you. It is kept, with your name, as the "
                            "proof of every subscription this file brings."))

    def column_fields(self):
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def consent_fields(self):
        names = ("consent_status", "consent_channel", "consent_topics", "consent_evidence",
                 "attestation")
        return [self[name] for name in names if name in self.fields]

    def targets(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}") or "" for i in range(len(self.headers))]

    def subscriptions(self):
        """What the owner said about subscriptions (imports.subscriptions), or None."""
        if not self.consent:
            return None
        from peyvand.imports.subscriptions import Subscriptions

        data = self.cleaned_data
        return Subscriptions(attestation=data.get("attestation") or "",
                             evidence=data.get("consent_evidence") or "",
                             status=data.get("consent_status") or "",
                             channel=data.get("consent_channel") or "",
                             topics=list(data.get("consent_topics") or []))

