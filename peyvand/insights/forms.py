"""The rules form: shapes what people type into values insights.actions validates."""

from __future__ import annotations

from django import forms
from django.db import models as db_models

from peyvand.base.normalise import ascii_digits
from peyvand.insights.actions import EDITABLE
from peyvand.insights.models import InsightSettings

NUMERIC = [f.name for f in InsightSettings._meta.get_fields()
           if f.name in EDITABLE and isinstance(f, (db_models.IntegerField,
                                                    db_models.FloatField))]


class SettingsForm(forms.ModelForm):
    class Meta:
        model = InsightSettings
        fields = EDITABLE

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            # «۰٫۵» and «۱٬۰۰۰» are numbers too.
            data = data.copy()
            for name in NUMERIC:
                if name in data:
                    data[name] = ascii_digits(data[name]).replace("\u066b", ".") \
                        .replace("\u066c", "").replace(",", "").strip()
        super().__init__(data, *args, **kwargs)
        for name in NUMERIC:
            self.fields[name].widget = forms.TextInput(attrs={"dir": "ltr",
                                                              "inputmode": "decimal"})
