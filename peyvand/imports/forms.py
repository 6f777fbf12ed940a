"""Forms of the import wizard: the upload, then one field choice per column."""

from __future__ import annotations

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
            raise forms.ValidationError(too_large_upload().message)
        return upload


class MappingForm(forms.Form):
    """`col_<i>`: the field column i goes into; `tag`: a tag for everyone imported."""

    tag = forms.CharField(label=_("Tag every imported contact with"), required=False,
                          max_length=64, help_text=_("Optional, e.g. “Nowruz fair 1403”."))

    def __init__(self, *args, headers: list[str], choices: list[tuple[str, str]],
                 initial_targets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        for i, (header, target) in enumerate(zip(headers, initial_targets, strict=True)):
            self.fields[f"col_{i}"] = forms.ChoiceField(label=header, choices=choices,
                                                        required=False, initial=target)

    def column_fields(self):
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def targets(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}") or "" for i in range(len(self.headers))]
