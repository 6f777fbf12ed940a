"""Staff pages (signed in): topics, sign-up forms, incentive report, churn, suppressions,
one contact's consent."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from peyvand.base.roles import can, require
from peyvand.base.templatetags.peyvand_ui import fadigits, ltr_text, page_language
from peyvand.base.views import paginate, ui_actor
from peyvand.consent import actions
from peyvand.consent.actions import ConsentInvalid
from peyvand.consent.churn import CALENDARS, DIMENSIONS, PERIODS, churn, churn_csv
from peyvand.consent.forms import SignupFormForm, StaffChangeForm, TopicForm
from peyvand.consent.models import (
    REASON_LABELS,
    Channel,
    SignupForm,
    Source,
    Status,
    SuppressionReason,
    Topic,
)
from peyvand.consent.queries import (
    consent_history,
    consent_overview,
    forms_list,
    incentive_report,
    suppression_list,
    topics_list,
)
from peyvand.consent.svg import line_chart
from peyvand.consent.views.common import LANGS, contact_email_hint, site_url
from peyvand.consent.views.public import signup_context
from peyvand.contacts.actions import ContactInvalid
from peyvand.contacts.queries import access_contact

# --- staff: topics --------------------------------------------------------------------------

@login_required
def topic_list(request):
    actor = ui_actor(request)
    return render(request, "consent/topic_list.html", {"topics": topics_list(actor)})


@login_required
def topic_edit(request, pk: int | None = None):
    actor = ui_actor(request)
    require(actor, "forms.manage")
    topic = get_object_or_404(Topic, pk=pk) if pk else None
    initial = TopicForm.initial_for(topic) if topic else None
    form = TopicForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            topic = actions.do_save_topic(actor, form.cleaned_data, topic)
        except ConsentInvalid as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(request, _("Topic saved."))
            return redirect("consent:topic_list")
    return render(request, "consent/topic_form.html", {"form": form, "topic": topic})


@login_required
@require_POST
def topic_delete(request, pk: int):
    actor = ui_actor(request)
    require(actor, "forms.manage")  # before the lookup: no role learns which ids exist
    topic = get_object_or_404(Topic, pk=pk)
    outcome = actions.do_delete_topic(actor, topic)
    messages.success(request, _("Topic deleted.") if outcome == "deleted" else
                     _("People have chosen this topic, so it was retired instead of deleted."))
    return redirect("consent:topic_list")


# --- staff: sign-up forms -------------------------------------------------------------------

@login_required
def form_list(request):
    actor = ui_actor(request)
    return render(request, "consent/form_list.html", {
        "forms": forms_list(actor), "report": incentive_report(actor)})


@login_required
def form_edit(request, pk: int | None = None):
    actor = ui_actor(request)
    require(actor, "forms.manage")
    signup_form = get_object_or_404(SignupForm, pk=pk) if pk else None
    form = SignupFormForm(request.POST or None, initial=SignupFormForm.initial_for(signup_form))
    if request.method == "POST" and form.is_valid():
        try:
            signup_form = actions.do_save_form(actor, form.cleaned_data, signup_form)
        except ConsentInvalid as exc:
            form.add_domain_errors(exc.errors)
        else:
            messages.success(request, _("Form saved."))
            return redirect("consent:form_detail", signup_form.pk)
    return render(request, "consent/form_form.html", {"form": form, "signup_form": signup_form})


def embed_snippet(signup_form: SignupForm, site: str, language: str) -> str:
    """The plain HTML form an owner pastes into their own site; it posts to the hosted page."""
    with translation.override(language):
        return render_to_string("consent/embed_snippet.html", {
            **signup_context(signup_form, language), "lang": language,
            "action": site + reverse("consent:signup", args=[signup_form.slug]) +
            f"?lang={language}"}).strip()


@login_required
def form_detail(request, pk: int):
    actor = ui_actor(request)
    require(actor, "consent.view")
    signup_form = get_object_or_404(SignupForm, pk=pk)
    site = site_url(request)
    return render(request, "consent/form_detail.html", {
        "signup_form": signup_form,
        "hosted": {lang: site + reverse("consent:signup", args=[signup_form.slug]) +
                   f"?lang={lang}" for lang in LANGS},
        "snippets": {lang: embed_snippet(signup_form, site, lang) for lang in LANGS},
        "api_url": site + f"/api/v1/forms/{signup_form.slug}/submit",
        "texts": signup_form.texts.all(),
        "report": incentive_report(actor, signup_form),
    })


@login_required
@require_POST
def form_delete(request, pk: int):
    actor = ui_actor(request)
    require(actor, "forms.manage")  # before the lookup: no role learns which ids exist
    outcome = actions.do_delete_form(actor, get_object_or_404(SignupForm, pk=pk))
    messages.success(request, _("Form deleted.") if outcome == "deleted" else
                     _("People signed up with this form, so it was closed instead of deleted."))
    return redirect("consent:form_list")


# --- staff: reports -------------------------------------------------------------------------

@login_required
def report(request):
    actor = ui_actor(request)
    return render(request, "consent/report.html", {"report": incentive_report(actor)})


DIMENSION_LABELS = {
    "channel": _("Message channel"), "topic": _("Topic"), "reason": _("Reason"),
    "source": _("Source"), "form": _("Sign-up form"), "campaign": _("Campaign"),
}


def group_label(by: str, value: str, language: str) -> str:
    """A churn group as people read it."""
    if by == "channel" and value in Channel.values:
        return str(Channel(value).label)
    if by == "source" and value in Source.values:
        return str(Source(value).label)
    if by == "reason":
        return str(REASON_LABELS.get(value, value))
    if by == "topic":
        topic = Topic.objects.filter(key=value).first()
        return topic.name(language) if topic else value
    if value == "none":
        return _("None")
    return value


@login_required
def churn_page(request):
    actor = ui_actor(request)
    language = page_language()
    period = request.GET.get("period") if request.GET.get("period") in PERIODS else "month"
    by = request.GET.get("by") if request.GET.get("by") in DIMENSIONS else "channel"
    calendar = request.GET.get("calendar")
    if calendar not in CALENDARS:
        calendar = "jalali" if language == "fa" else "gregorian"
    report = churn(actor, period=period, by=by, calendar=calendar, language=language,
                   periods=12)
    if request.GET.get("format") == "csv":
        response = HttpResponse(churn_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="churn-{period}-{by}.csv"'
        return response
    labels = {g: group_label(by, g, language) for g in report.groups}
    series = {labels[g]: values for g, values in report.series().items()}
    return render(request, "consent/churn.html", {
        "report": report, "period": period, "by": by, "calendar": calendar,
        "periods": PERIODS, "dimensions": [(d, DIMENSION_LABELS[d]) for d in DIMENSIONS],
        # The file has every row; the page leaves out groups with nothing to say yet.
        "rows": [(r, labels[r.group]) for r in reversed(report.rows) if r.base or r.opt_outs],
        "chart": line_chart(series, report.labels, title=_("Churn rate"),
                            format_value=lambda v: fadigits(f"{v * 100:.1f}%")),
        "csv_query": request.GET.copy().urlencode(),
    })


@login_required
def suppressions(request):
    actor = ui_actor(request)
    channel = request.GET.get("channel", "")
    reason = request.GET.get("reason", "")
    qs = suppression_list(actor, channel=channel if channel in Channel.values else "",
                          reason=reason if reason in SuppressionReason.values else "")
    return render(request, "consent/suppressions.html", {
        "page": paginate(request, qs, 50), "channel": channel, "reason": reason,
        "channels": Channel.choices, "reasons": SuppressionReason.choices})


# --- staff: one contact ---------------------------------------------------------------------

@login_required
def contact_consent(request, pk: int):
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    overview = consent_overview(actor, contact)
    language = page_language()
    form = None
    if can(actor, "consent.reduce") and not contact.erased_at:
        form = StaffChangeForm(request.POST or None, language=language)
        if request.method == "POST" and form.is_valid():
            try:
                actions.do_staff_change(actor, contact, form.cleaned_data)
            except ContactInvalid as exc:
                form.add_domain_errors(exc.errors)
            else:
                messages.success(request, _("Recorded."))
                return redirect("consent:contact", contact.pk)
    elif request.method == "POST":
        require(actor, "consent.reduce")
    return render(request, "consent/contact.html", {
        "contact": contact, "overview": overview, "form": form,
        "page": paginate(request, consent_history(actor, contact), 50),
        "status_class": STATUS_CLASS,
        "can_send_link": can(actor, "consent.send_link") and not contact.erased_at,
        "link_address": contact_email_hint(contact),
    }, status=400 if form is not None and form.errors else 200)


@login_required
@require_POST
def send_link(request, pk: int):
    """Mail the person their preference link; staff never see it."""
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    try:
        actions.do_send_preference_link(actor, contact)
    except ContactInvalid as exc:
        messages.error(request, " ".join(str(v) for v in exc.errors.values()))
    else:
        messages.success(request, _("Their preference link is on its way to %(address)s.")
                         % {"address": ltr_text(contact_email_hint(contact))})
    return redirect("consent:contact", contact.pk)


STATUS_CLASS = {Status.IN: "green", Status.PENDING: "amber", Status.OUT: "red", "none": "gray"}


@login_required
@require_POST
def contact_proof(request, pk: int):
    actor = ui_actor(request)
    contact = access_contact(actor, pk)
    fmt = request.POST.get("format", "json")
    data = actions.do_export_proof(actor, contact, fmt)
    if fmt == "csv":
        response = HttpResponse(actions.proof_csv(data), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = \
        f'attachment; filename="consent-proof-{contact.pk}.{fmt}"'
    return response
