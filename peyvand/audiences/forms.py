"""The segment form, and the rules other pages hand to a new segment ("save as segment").

The rule itself is JSON: the builder (static/audiences/builder.js) writes it into the rules
box, which stays editable for people who prefer to type it (and for browsers without script).
The actions validate it; their errors go back beside the field, or to the rule's node.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from peyvand.audiences.rules import EVERYONE
from peyvand.commerce.models import Product
from peyvand.contacts.forms import DomainErrorsForm
from peyvand.insights.models import DueStatus, ProductAssociation, Stage, Tier
from peyvand.insights.models import Segment as RfmSegment


def rules_text(rules: Any) -> str:
    return json.dumps(rules, ensure_ascii=False, indent=2)


class SegmentForm(DomainErrorsForm):
    name = forms.CharField(label=_("Name"), required=False, max_length=100)
    description = forms.CharField(label=_("Description"), required=False, max_length=300,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    auto_refresh = forms.BooleanField(
        label=_("Keep membership up to date"), required=False, initial=True,
        help_text=_("Refreshed every hour and soon after orders change, so journeys hear who "
                    "entered or left."))
    rules = forms.CharField(
        label=_("Rule as JSON"), required=False,
        widget=forms.Textarea(attrs={"dir": "ltr", "rows": 10, "spellcheck": "false",
                                     "class": "mono"}),
        help_text=_("The builder writes this; you may edit it too "
                    "(the grammar is in docs/subsystems/audiences.md)."))

    def clean_rules(self) -> Any:
        text = (self.cleaned_data.get("rules") or "").strip()
        if not text:
            return EVERYONE
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValidationError(_("The rule is not valid JSON: %(reason)s")
                                  % {"reason": exc})


# ---- save as segment ------------------------------------------------------------------------

# The insights customer list's filters (?tier=&segment=&stage=) and the paths that ask the same
# of the same CustomerMetrics columns. Its "relationship" filter has no path yet.
INSIGHTS_FILTERS = {"tier": ("insights.tier", Tier), "segment": ("insights.rfm_segment",
                                                                 RfmSegment),
                    "stage": ("insights.ladder", Stage)}
DUE_LISTED = [DueStatus.DUE, DueStatus.OVERDUE]


def _all(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"all": conditions}


def _from_insights(query: QueryDict, left_out: list[str]) -> tuple[Any, str]:
    conditions, names = [], []
    for param, (path, choices) in INSIGHTS_FILTERS.items():
        value = query.get(param, "")
        if value in choices.values:
            conditions.append({"field": path, "op": "eq", "value": value})
            names.append(str(choices(value).label))
    if query.get("relationship"):
        left_out.append(gettext("Relationship (relational or transactional)"))
    return _all(conditions), " · ".join(names)


def _from_due(query: QueryDict) -> tuple[Any, str]:
    status = query.get("status", "")
    if status in DUE_LISTED:
        return (_all([{"field": "insights.due", "op": "eq", "value": status}]),
                f"{gettext('Due to buy again')} · {DueStatus(status).label}")
    return (_all([{"field": "insights.due", "op": "in", "value": list(DUE_LISTED)}]),
            gettext("Due to buy again"))


def _from_crosssell(query: QueryDict, language: str,
                    left_out: list[str]) -> tuple[Any, str]:
    """Who the shop would recommend the product to: they bought a product it is bought with
    beyond chance (lift > 1), and not the product itself."""
    product = Product.objects.filter(sku=query.get("sku", "")).first()
    if product is None:
        return EVERYONE, ""
    because = sorted(set(ProductAssociation.objects.filter(
        related=product, lift__gt=1, product__sku__gt="").values_list("product__sku",
                                                                       flat=True)))
    if not because:
        left_out.append(gettext("Products bought with it (none yet beyond chance)"))
    name = product.name(language)
    rules = _all([{"field": "orders.products", "op": "has", "value": because},
                  {"field": "orders.products", "op": "has_not", "value": product.sku}])
    return rules, gettext("Might buy %(product)s") % {"product": name}


def prefill(query: QueryDict, language: str) -> tuple[Any, str, list[str]]:
    """(rules, name, parts of the list that no rule can say) for `/segments/new/?…`:
    `rules=<JSON>&name=…`, or `from=insights|due|crosssell` with that list's own filters."""
    left_out: list[str] = []
    rules: Any = EVERYONE
    name = ""
    source = query.get("from", "")
    if source == "insights":
        rules, name = _from_insights(query, left_out)
    elif source == "due":
        rules, name = _from_due(query)
    elif source == "crosssell":
        rules, name = _from_crosssell(query, language, left_out)
    elif query.get("rules"):
        try:
            rules = json.loads(query.get("rules", ""))
        except ValueError:
            left_out.append(gettext("The rule given in the link (not valid JSON)"))
    return rules, query.get("name", name)[:100], left_out
