"""Forms only shape what people type into the raw values commerce actions validate."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

CURRENCY_CHOICES = [
    ("IRT", _("Toman (IRT)")),
    ("IRR", _("Rial (IRR)")),
    ("IRHT", _("Ten thousand rial (IRHT)")),
    ("IRHR", _("Thousand rial (IRHR)")),
    ("USD", "USD"),
    ("EUR", "EUR"),
]


class SourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=48,
                           help_text=_("A short name for the shop, e.g. myshop; it cannot "
                                       "change later."),
                           widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"}))
    currency = forms.ChoiceField(label=_("Shop currency"), choices=CURRENCY_CHOICES,
                                 initial="IRT",
                                 help_text=_("As set in WooCommerce; IRT means toman."))
