"""The rules form: shapes what people type into values insights.actions validates."""

from __future__ import annotations

from django import forms
from django.db import models as db_models
from django.utils.translation import gettext as _

from peyvand.base.normalise import ascii_digits
from peyvand.commerce.money import RIAL, display_currency, unit_label
from peyvand.insights.actions import EDITABLE
from peyvand.insights.models import InsightSettings

COSTS = ("cost_per_order", "cost_per_return", "cost_per_ticket")
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
        # Costs are typed in the shop's display unit (toman or rial) and stored in rial.
        self.factor = display_currency(RIAL)[1]
        for name in COSTS:
            field = self.fields[name]
            field.help_text = _("In %(unit)s.") % {"unit": unit_label(RIAL)}
            if data is None and self.instance is not None:
                value = getattr(self.instance, name) or 0
                self.initial[name] = value // self.factor if value % self.factor == 0 \
                    else value / self.factor

    def clean(self):
        cleaned = super().clean() or {}
        for name in COSTS:
            if cleaned.get(name) is not None:
                cleaned[name] = int(round(float(cleaned[name]) * self.factor))
        return cleaned
