"""Forms of the import wizard: the upload, then one field choice per column."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from peyvand.base.normalise import InvalidValue
from peyvand.commerce.money import currency_code
from peyvand.imports.limits import max_upload_bytes, too_large_upload
from peyvand.imports.order_plan import OrderOptions


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



CURRENCIES = [
    ("", _("— choose —")),
    ("IRT", _("IRT: Iranian toman")),
    ("IRR", _("IRR: Iranian rial")),
    ("USD", _("USD: US dollar")),
    ("EUR", _("EUR: euro")),
    ("AED", _("AED: UAE dirham")),
    ("TRY", _("TRY: Turkish lira")),
    ("other", _("Another currency (give its code)")),
]
CALENDAR_CHOICES = [
    ("auto", _("Automatic: years 1300–1499 are Jalali, the others Gregorian")),
    ("jalali", _("Jalali (1403/05/12)")),
    ("gregorian", _("Gregorian (2024-08-02)")),
]


class OrderOptionsForm(forms.Form):
    """What the order wizard asks about the whole file; nothing is chosen for the user: a
    file without a currency column needs a currency, one without dates needs `placed_at_now`
    ticked."""

    currency = forms.ChoiceField(label=_("Currency of the amounts"), choices=CURRENCIES,
                                 required=False)
    currency_other = forms.CharField(label=_("Currency code"), required=False, max_length=4,
                                     widget=forms.TextInput(attrs={"dir": "ltr",
                                                                   "size": 5}),
                                     help_text=_("Three or four letters, e.g. GBP."))
    calendar = forms.ChoiceField(label=_("Calendar of the dates"), choices=CALENDAR_CHOICES,
                                 initial="auto", widget=forms.RadioSelect,
                                 help_text=_("Spreadsheet date cells and Excel serial "
                                             "numbers are read as they are in any case."))
    placed_at_now = forms.BooleanField(
        label=_("Date orders without a date now"), required=False,
        help_text=_("Off: an order without a date is refused and listed, with the reason, in "
                    "the rejected rows. On: it is dated at the moment of the import."))

    def __init__(self, *args, currency_column: bool, date_column: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency_column = currency_column
        self.date_column = date_column
        if currency_column:
            self.fields["currency"].help_text = _(
                "The file has a currency column; this is for orders whose currency cell is "
                "empty. Leave it unchosen to refuse those orders.")
        else:
            self.fields["currency"].help_text = _(
                "The file has no currency column: say which currency its amounts are in. "
                "Nothing is assumed.")
        if not date_column:
            self.fields["placed_at_now"].help_text = _(
                "The file has no date column: the import needs this ticked, and every order "
                "is then dated at the moment of the import.")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        chosen = data.get("currency") or ""
        if chosen == "other":
            chosen = data.get("currency_other") or ""
            if not chosen.strip():
                self.add_error("currency_other", _("Give the currency's code."))
        if chosen.strip():
            try:
                data["code"] = currency_code(chosen)
            except InvalidValue as exc:
                self.add_error("currency_other" if data.get("currency") == "other"
                               else "currency", str(exc.message))
        else:
            data["code"] = ""
            if not self.currency_column and data.get("currency") != "other":
                self.add_error("currency", _("Choose the currency: the file has no currency "
                                             "column."))
        if not self.date_column and not data.get("placed_at_now"):
            self.add_error("placed_at_now", _("The file has no date column: tick this to "
                                              "date every order now, or add the dates to "
                                              "the file."))
        return data

    def options(self) -> OrderOptions:
        return OrderOptions(currency=self.cleaned_data.get("code", ""),
                            calendar=self.cleaned_data.get("calendar") or "auto",
                            placed_at_now=bool(self.cleaned_data.get("placed_at_now")))
