"""What insights computes about customers, and the rules it computes them by.

Insights only reads other apps' tables (orders, refunds, contacts, tags, timeline); it writes
these rows alone. CustomerMetrics columns are stable names future segments filter on.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from peyvand.commerce.models import Product
from peyvand.contacts.models import Contact


class InsightSettings(models.Model):
    """The one row of rules (pk=1); edited by roles holding insights.configure."""

    rfm_bins = models.PositiveSmallIntegerField(
        _("RFM score bins"), default=5,
        help_text=_("5 gives quintiles; segments read any number of bins as quintiles."))
    top_percent = models.PositiveSmallIntegerField(
        _("most valuable: top percent"), default=20,
        help_text=_("Customers in this top share by value are the most valuable."))
    growable_ratio = models.FloatField(
        _("most growable: predicted value ÷ value so far"), default=0.5,
        help_text=_("Customers outside the top whose predicted value over the horizon is at "
                    "least this many times their value so far, and above the median."))
    cost_per_order = models.BigIntegerField(
        _("cost to serve an order"), default=0, help_text=_("In minor units (rial)."))
    cost_per_return = models.BigIntegerField(
        _("cost of a return"), default=0, help_text=_("In minor units (rial)."))
    cost_per_ticket = models.BigIntegerField(
        _("cost of a support ticket"), default=0, help_text=_("In minor units (rial)."))
    horizon_weeks = models.PositiveSmallIntegerField(
        _("prediction horizon (weeks)"), default=52)
    discount_rate = models.FloatField(
        _("yearly discount rate"), default=0.15,
        help_text=_("Future money is worth less: 0.15 means 15% a year."))
    holdout_weeks = models.PositiveSmallIntegerField(
        _("hold-out period (weeks)"), default=26,
        help_text=_("The model is also fitted this many weeks back and checked against what "
                    "customers actually bought since."))
    min_repeaters = models.PositiveIntegerField(
        _("fewest repeat customers for the model"), default=50,
        help_text=_("With fewer, a simple average-rate model is used instead."))
    engagement_half_life_days = models.PositiveSmallIntegerField(
        _("engagement half-life (days)"), default=30)
    relational_engagement = models.FloatField(
        _("engagement that makes a repeat customer relational"), default=1.0)
    relational_orders = models.PositiveSmallIntegerField(
        _("orders that make a customer relational"), default=4)
    optin_tags = models.CharField(
        _("opt-in tags"), max_length=300, blank=True, default="newsletter, opted-in",
        help_text=_("Comma-separated; tagged contacts count as opted in."))
    supporter_tags = models.CharField(
        _("supporter tags"), max_length=300, blank=True,
        default="supporter, promoter, testimonial",
        help_text=_("Comma-separated: a positive signal (NPS promoter, testimonial)."))
    advocate_tags = models.CharField(
        _("advocate tags"), max_length=300, blank=True, default="advocate",
        help_text=_("Comma-separated: contacts known to refer others."))
    referral_field = models.CharField(
        _("referred-by field"), max_length=64, blank=True, default="referred_by",
        help_text=_("Custom field holding who referred a contact: their contact number or "
                    "their referral code."))
    referral_source = models.CharField(
        _("referral code source"), max_length=64, blank=True, default="referral",
        help_text=_("Source of the external ids that are referral codes."))
    due_window_days = models.PositiveSmallIntegerField(
        _("due window (days)"), default=7,
        help_text=_("A customer is due from this many days before the expected date to this "
                    "many days after it, then overdue."))
    crosssell_days = models.PositiveIntegerField(
        _("cross-sell look-back (days)"), default=365)
    crosssell_min_orders = models.PositiveIntegerField(
        _("cross-sell: fewest orders with both products"), default=3)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("insight rules")

    def __str__(self) -> str:
        return "insight settings"

    @staticmethod
    def names(value: str) -> list[str]:
        return [n.strip() for n in value.replace("،", ",").split(",") if n.strip()]


class Segment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can’t lose them")
    HIBERNATING = "hibernating", _("Hibernating")


class Tier(models.TextChoices):
    MOST_VALUABLE = "most_valuable", _("Most valuable")
    MOST_GROWABLE = "most_growable", _("Most growable")
    REST = "rest", _("The rest")
    BELOW_ZERO = "below_zero", _("Below zero")


class Stage(models.TextChoices):
    SUSPECT = "suspect", _("Suspect")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    CLIENT = "client", _("Client")
    SUPPORTER = "supporter", _("Supporter")
    ADVOCATE = "advocate", _("Advocate")


class Relationship(models.TextChoices):
    RELATIONAL = "relational", _("Relational")
    TRANSACTIONAL = "transactional", _("Transactional")


class DueStatus(models.TextChoices):
    NOT_DUE = "not_due", _("Not due")
    DUE = "due", _("Due")
    OVERDUE = "overdue", _("Overdue")
    LAPSED = "lapsed", _("Lapsed")


class CustomerMetrics(models.Model):
    """One row per contact, as of `as_of`. Money in minor units of `currency`.

    Rebuilt whole every night with COPY: no database foreign-key trigger (Django still
    deletes the row with its contact) and few indexes, which keeps that write fast (each
    index costs about a second per million rows).
    """

    contact = models.OneToOneField(Contact, primary_key=True, on_delete=models.CASCADE,
                                   related_name="metrics", db_constraint=False)
    as_of = models.DateField(_("as of"))
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    purchase_days = models.PositiveIntegerField(_("purchase days"), default=0)
    net_revenue = models.BigIntegerField(_("net revenue"), default=0)
    refunded = models.BigIntegerField(_("refunded"), default=0)
    avg_order_value = models.BigIntegerField(_("average order value"), default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    recency_days = models.PositiveIntegerField(_("days since last order"), null=True,
                                               blank=True)
    tenure_days = models.PositiveIntegerField(_("days since first order"), null=True,
                                              blank=True)
    # Repeat purchases: purchase days after the first (the BG/NBD x).
    frequency = models.PositiveIntegerField(_("repeat purchases"), default=0)
    r_score = models.PositiveSmallIntegerField(_("R score"), default=0)
    f_score = models.PositiveSmallIntegerField(_("F score"), default=0)
    m_score = models.PositiveSmallIntegerField(_("M score"), default=0)
    rfm_segment = models.CharField(_("RFM segment"), max_length=24, blank=True,
                                   choices=Segment.choices)
    engagement_score = models.FloatField(_("engagement"), default=0.0)
    returns = models.PositiveIntegerField(_("returns"), default=0)
    tickets = models.PositiveIntegerField(_("support tickets"), default=0)
    product_cost = models.BigIntegerField(_("product cost"), default=0)
    contribution = models.BigIntegerField(_("net contribution"), default=0)
    p_alive = models.FloatField(_("probability active"), null=True, blank=True)
    expected_purchases = models.FloatField(_("expected purchases"), null=True, blank=True)
    expected_spend = models.BigIntegerField(_("expected spend per purchase"), null=True,
                                            blank=True)
    predicted_value = models.BigIntegerField(_("predicted value"), null=True, blank=True)
    value_tier = models.CharField(_("value tier"), max_length=16, blank=True,
                                  choices=Tier.choices)
    ladder_stage = models.CharField(_("loyalty stage"), max_length=12, choices=Stage.choices,
                                    default=Stage.SUSPECT)
    relationship = models.CharField(_("relationship"), max_length=16, blank=True,
                                    choices=Relationship.choices)
    main_category = models.CharField(_("main category"), max_length=100, blank=True)
    cycle_days = models.FloatField(_("purchase cycle (days)"), null=True, blank=True)
    next_due_date = models.DateField(_("next purchase due"), null=True, blank=True)
    due_status = models.CharField(_("due status"), max_length=8, blank=True,
                                  choices=DueStatus.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")
        # Lists filter on these by equality. Plain indexes, not db_index=True: on PostgreSQL
        # that adds a second (varchar_pattern_ops) index for LIKE per column, which nothing
        # here runs and every nightly rewrite of a million rows would pay for.
        indexes = [models.Index(fields=["rfm_segment"]), models.Index(fields=["value_tier"]),
                   models.Index(fields=["ladder_stage"]),
                   models.Index(fields=["due_status", "next_due_date"])]

    def __str__(self) -> str:
        return f"metrics #{self.contact_id}"

    @property
    def rfm_cell(self) -> str:
        return f"{self.r_score}{self.f_score}{self.m_score}" if self.r_score else ""


class RefreshRun(models.Model):
    """A full refresh: when, as of which day, and the population it learned (RFM bin
    edges, tier thresholds, cycle priors) that incremental updates reuse."""

    as_of = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    contacts = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0)
    actor_label = models.CharField(max_length=150, blank=True)
    population = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # what the dashboard draws
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"refresh as of {self.as_of}"


class ModelFit(models.Model):
    """One fit of the lifetime-value model, with its diagnostics and hold-out check."""

    class Method(models.TextChoices):
        BGNBD = "bgnbd", _("BG/NBD + Gamma-Gamma")
        AVERAGE_RATE = "average_rate", _("Average purchase rate (fallback)")

    run = models.ForeignKey(RefreshRun, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="fits")
    fitted_at = models.DateTimeField()
    as_of = models.DateField()
    method = models.CharField(max_length=16, choices=Method.choices)
    converged = models.BooleanField(default=False)
    sample_size = models.PositiveIntegerField(default=0)  # customers the model saw
    repeaters = models.PositiveIntegerField(default=0)
    loglik = models.FloatField(null=True, blank=True)
    bgnbd = models.JSONField(default=dict, blank=True)  # r, alpha, a, b, loglik
    gamma_gamma = models.JSONField(default=dict, blank=True)  # p, q, gamma
    fallback = models.JSONField(default=dict, blank=True)  # rate, mean_spend
    # γ and mean spend are in minor units of this currency (the one most buyers use).
    currency = models.CharField(max_length=8, blank=True)
    holdout = models.JSONField(default=dict, blank=True)
    horizon_weeks = models.PositiveSmallIntegerField(default=52)
    discount_rate = models.FloatField(default=0.15)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-fitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} fit as of {self.as_of}"


class TierSnapshot(models.Model):
    """Each contact's value tier in a month (the last refresh of that month wins)."""

    month = models.DateField()  # first day of the month
    # Written a million at a time by INSERT … SELECT: no trigger per row (see CustomerMetrics).
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+",
                                db_constraint=False)
    tier = models.CharField(max_length=16, choices=Tier.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "contact"],
                                               name="tier_snapshot_once")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} #{self.contact_id} {self.tier}"


class ProductAssociation(models.Model):
    """Bought together: of orders with `product`, how many also had `related`."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    related = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    orders_together = models.PositiveIntegerField()
    support = models.FloatField()  # share of all orders holding both
    confidence = models.FloatField()  # P(related | product)
    lift = models.FloatField()  # confidence ÷ P(related)

    class Meta:
        ordering = ["product", "-lift", "-confidence"]
        constraints = [models.UniqueConstraint(fields=["product", "related"],
                                               name="association_once")]

    def __str__(self) -> str:
        return f"{self.product_id} -> {self.related_id} (lift {self.lift:.2f})"
