"""Web pages of the permission floor.

Staff pages (signed in): topics, sign-up forms, incentive report, churn, suppressions, one
contact's consent. Public pages (no sign-in, a signed link or a form is the authority): the
hosted sign-up form, confirmation, preference centre, unsubscribe, RFC 8058 one-click, and
the SMS gateway hook. All thin: parse, call consent.actions / queries, render.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from peyvand.base.http import client_ip  # noqa: F401  (re-exported: consent.api and others)
from peyvand.base.normalise import InvalidValue, check_storable_text
from peyvand.base.roles import can, require
from peyvand.base.signing import LinkExpired, LinkInvalid
from peyvand.base.site import public_url
from peyvand.base.templatetags.peyvand_ui import fadigits, ltr_text, page_language
from peyvand.base.views import paginate, ui_actor
from peyvand.consent import actions
from peyvand.consent.actions import (
    PAUSE_WEEKS,
    UNSUBSCRIBE_REASONS,
    ConsentInvalid,
    SignupRequest,
    SignupThrottled,
)
from peyvand.consent.churn import CALENDARS, DIMENSIONS, PERIODS, churn, churn_csv
from peyvand.consent.forms import SignupFormForm, StaffChangeForm, TopicForm, weeks_label
from peyvand.consent.links import link_provenance, preferences_token, read_contact_token
from peyvand.consent.models import (
    REASON_LABELS,
    Channel,
    Format,
    Frequency,
    IdentityRule,
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
from peyvand.contacts.actions import ContactInvalid
from peyvand.contacts.models import Contact, CustomField, Identity
from peyvand.contacts.queries import access_contact

LANGS = ("fa", "en")


def user_agent_of(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def site_url(request) -> str:
    # PEYVAND_PUBLIC_URL only: a request's Host header may be a proxy's or a forger's, and the
    # links built on it go out in mail. (The request is kept in the signature for callers.)
    return public_url()


def _public_language(request, default: str | None = None) -> str:
    """?lang= (or a posted lang) wins; then the person's own language; then the visitor's."""
    lang = request.GET.get("lang") or request.POST.get("lang")
    if lang in LANGS:
        return lang
    if default in LANGS:
        return default
    return page_language()


def _public(request, template: str, context: dict, language: str, status: int = 200):
    with translation.override(language):
        context = {**context, "lang": language, "other_lang": "en" if language == "fa" else "fa"}
        response = render(request, template, context, status=status)
    response["Content-Language"] = language
    response["X-Robots-Tag"] = "noindex"
    # The URL carries a token: never send it to other sites. (Not "no-referrer": browsers
    # then post with Origin: null, which the CSRF check refuses.)
    response["Referrer-Policy"] = "same-origin"
    return response


def _link_error(request, exc: LinkInvalid, language: str | None = None):
    language = language or _public_language(request)
    with translation.override(language):
        message = str(exc.message)
    return _public(request, "consent/link_error.html", {"message": message,
                                                         "expired": isinstance(exc, LinkExpired)},
                   language, status=410 if isinstance(exc, LinkExpired) else 400)


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


# --- public: the hosted sign-up form --------------------------------------------------------

def signup_context(signup_form: SignupForm, language: str, values: dict | None = None) -> dict:
    values = values or {}
    offered = actions.offered_channels(signup_form)
    chosen_topics = values.get("topics")
    chosen_channels = values.get("channels")
    topics = [{"key": t.key, "name": t.name(language), "description": t.description,
               "checked": (t.key in chosen_topics) if chosen_topics is not None
               else t.default_opt_in}
              for t in signup_form.topics.filter(active=True)]
    channels = [{"key": c, "name": Channel(c).label,
                 "checked": (c in chosen_channels) if chosen_channels is not None else True}
                for c in offered]
    custom = []
    for field in signup_form.custom_fields.all():
        custom.append({"key": field.key, "label": field.label(language), "type": field.type,
                       "choices": field.choices, "value": (values.get("fields") or {})
                       .get(field.key, "")})
    text = signup_form.current_text(language)
    asks_phone = signup_form.identity != IdentityRule.EMAIL or any(
        c in (Channel.SMS, Channel.PHONE) for c in offered)
    return {
        "signup_form": signup_form, "title": signup_form.title(language),
        "incentive": signup_form.incentive(language), "topics": topics,
        "channels": channels, "custom": custom, "text": text,
        "asks_email": signup_form.identity != IdentityRule.PHONE,
        "asks_phone": asks_phone,
        "email_required": signup_form.identity == IdentityRule.EMAIL,
        "phone_required": signup_form.identity == IdentityRule.PHONE,
        "values": values, "CustomFieldType": CustomField.Type,
    }


def _raw_signup(post, signup_form: SignupForm) -> dict:
    raw: dict = {name: post.get(name, "") for name in ("email", "phone", "first_name",
                                                       "last_name")}
    raw["topics"] = post.getlist("topics")
    # No channel boxes are shown when only one is offered: that one is meant.
    raw["channels"] = post.getlist("channels") if post.get("channels_shown") else None
    raw["fields"] = {f.key: post.get(f"field_{f.key}") for f in signup_form.custom_fields.all()
                     if post.get(f"field_{f.key}") not in (None, "")}
    return raw


@csrf_exempt  # embedded copies post here from the owner's own site
def signup_page(request, slug: str):
    signup_form = SignupForm.objects.filter(slug=slug).first()
    if signup_form is None:
        raise Http404
    language = _public_language(request)
    context = signup_context(signup_form, language)
    if not signup_form.active:
        return _public(request, "consent/signup_closed.html", context, language, status=410)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    status, errors = 200, {}
    if request.method == "POST":
        raw = _raw_signup(request.POST, signup_form)
        text_version = request.POST.get("text_version", "")
        signup = SignupRequest(ip=client_ip(request), user_agent=user_agent_of(request),
                               language=language,
                               started=request.POST.get("t", ""),
                               honeypot=request.POST.get("website", ""), via="page",
                               link_base=site_url(request),
                               text_version=int(text_version) if text_version.isdigit()
                               else None)
        with translation.override(language):
            try:
                result = actions.do_submit_signup(signup_form, raw, signup)
            except SignupThrottled as exc:
                errors, status = {"form": str(exc)}, 429
            except ContactInvalid as exc:
                errors, status = {k: str(v) for k, v in exc.errors.items()}, 400
            else:
                if result.code_token:
                    url = reverse("consent:signup_code", args=[slug, result.code_token])
                    return redirect(f"{url}?lang={language}")
                return _public(request, "consent/signup_thanks.html",
                               context, language)
        context = signup_context(signup_form, language, raw)
    with translation.override(language):
        context["started"] = actions.start_token(signup_form)
    context["errors"] = errors
    return _public(request, "consent/signup.html", context, language, status=status)


def signup_code(request, slug: str, token: str):
    language = _public_language(request)
    try:
        signup = actions.signup_for_token("signup_code", token, actions.STARTED_MAX_AGE)
    except LinkInvalid as exc:
        return _link_error(request, exc, language)
    if signup.form.slug != slug:
        raise Http404
    language = _public_language(request, signup.language)
    context = {"signup_form": signup.form, "title": signup.form.title(language), "errors": {}}
    status = 200
    if request.method == "POST":
        with translation.override(language):
            try:
                if request.POST.get("op") == "resend":
                    actions.do_resend_code(token)
                    context["resent"] = True
                else:
                    result = actions.do_confirm_code(token, request.POST.get("code", ""),
                                                     ip=client_ip(request),
                                                     user_agent=user_agent_of(request))
                    return _public(request, "consent/confirmed.html",
                                   {**context, "result": result}, language)
            except ContactInvalid as exc:
                context["errors"] = {k: str(v) for k, v in exc.errors.items()}
                status = 400
            except LinkInvalid as exc:
                return _link_error(request, exc, language)
    return _public(request, "consent/signup_code.html", context, language, status=status)


# --- public: confirmation link ----------------------------------------------------------------

def confirm(request, token: str):
    """GET shows a button; only the POST confirms (mail scanners open links too)."""
    try:
        signup = actions.signup_for_token("confirm", token, actions.CONFIRM_MAX_AGE)
    except LinkInvalid as exc:
        return _link_error(request, exc)
    language = _public_language(request, signup.language)
    context = {"signup_form": signup.form, "title": signup.form.title(language)}
    if request.method == "POST":
        try:
            result = actions.do_confirm_email(token, ip=client_ip(request),
                                              user_agent=user_agent_of(request))
        except LinkInvalid as exc:
            return _link_error(request, exc, language)
        return _public(request, "consent/confirmed.html", {**context, "result": result},
                       language)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    return _public(request, "consent/confirm.html", context, language)


# --- public: preference centre -----------------------------------------------------------------

def _preferences_context(contact: Contact, language: str) -> dict:
    states = actions.current_states(contact.pk)
    now = timezone.now()
    channels = []
    for channel, label in Channel.choices:
        row = states.get((channel, None))
        if row is None:
            continue
        channels.append({"key": channel, "label": label, "status": row.status,
                         "format": row.format, "suppression": row.suppression,
                         "paused_until": row.paused_until if row.paused_until and
                         row.paused_until > now else None})
    subscribed = [str(c["key"]) for c in channels if c["status"] == Status.IN]
    topics = []
    for topic in Topic.objects.filter(active=True):
        rows = [states[(c, topic.pk)] for c in subscribed if (c, topic.pk) in states]
        chosen = [r for r in rows if r.status == Status.IN]
        topics.append({"topic": topic, "key": topic.key, "name": topic.name(language),
                       "description": topic.description, "checked": bool(chosen),
                       "frequency": (chosen[0].frequency if chosen else "")
                       or topic.default_frequency})
    paused = [c["paused_until"] for c in channels if c["paused_until"]]
    email = next((c for c in channels if c["key"] == Channel.EMAIL), None)
    return {
        "contact": contact, "channels": channels, "subscribed": subscribed, "topics": topics,
        "frequencies": Frequency.choices, "formats": Format.choices,
        "format": email["format"] if email else "",
        "paused_until": max(paused) if paused else None,
        "pause_weeks": [(w, weeks_label(w)) for w in PAUSE_WEEKS],
        "reasons": [(r, REASON_LABELS[r]) for r in UNSUBSCRIBE_REASONS],
        "can_reduce": actions.can_reduce_frequency(contact.pk),
        "has_any": any(c["status"] != Status.OUT for c in channels),
        "identity_hint": contact_identity_hint(contact),
    }


def _weeks(request) -> int:
    value = request.POST.get("weeks", "")
    return int(value) if value.isdigit() else 0


def _done(request, url: str, language: str, message: str):
    with translation.override(language):
        messages.success(request, str(message))
    return redirect(f"{url}?lang={language}")


def preferences(request, token: str):
    try:
        contact, data = read_contact_token("preferences", token)
    except LinkInvalid as exc:
        return _link_error(request, exc)
    language = _public_language(request, contact.language)
    url = reverse("consent:preferences", args=[token])
    if request.method == "POST":
        op = request.POST.get("op", "save")
        ip, ua = client_ip(request), user_agent_of(request)
        link = link_provenance("preferences", data)
        with translation.override(language):
            try:
                if op == "save":
                    wanted = {}
                    for topic in Topic.objects.filter(active=True):
                        if request.POST.get(f"topic_{topic.key}"):
                            wanted[topic.pk] = request.POST.get(f"frequency_{topic.key}") \
                                or topic.default_frequency
                    subscribed = actions.subscribed_channels(contact.pk)
                    offs = [c for c in subscribed if not request.POST.get(f"channel_{c}")]
                    new_language = request.POST.get("language")
                    actions.do_save_preferences(
                        contact, topics=wanted, format=request.POST.get("format") or None,
                        channels_off=offs, language=new_language, ip=ip, user_agent=ua,
                        link=link)
                    if new_language in LANGS:
                        language = new_language
                    return _done(request, url, language, _("Your choices are saved."))
                if op == "pause":
                    actions.do_pause(contact, _weeks(request), ip=ip, user_agent=ua,
                                     link=link)
                    return _done(request, url, language, _("Paused. We will not write to you "
                                                           "until the pause ends."))
                if op == "resume":
                    actions.do_resume(contact, ip=ip, user_agent=ua, link=link)
                    return _done(request, url, language, _("Welcome back: the pause has ended."))
                if op == "less":
                    actions.do_reduce_frequency(contact, ip=ip, user_agent=ua, link=link)
                    return _done(request, url, language, _("Done: you will hear from us less "
                                                           "often."))
                if op == "unsubscribe_start":
                    return _public(request, "consent/unsubscribe.html", {
                        **_preferences_context(contact, language), "action_url": url,
                        "scope": "all", "preferences_url": url}, language)
                if op == "unsubscribe":
                    actions.do_unsubscribe(
                        contact, None, source=Source.PREFERENCES,
                        reason=request.POST.get("reason", ""),
                        reason_text=request.POST.get("reason_text", ""), ip=ip, user_agent=ua,
                        link=link)
                    return _public(request, "consent/unsubscribed.html", {
                        "preferences_url": url}, language)
            except ContactInvalid as exc:
                errors = exc.errors
                context = {**_preferences_context(contact, language), "token": token,
                           "errors": {k: str(v) for k, v in errors.items()}}
                return _public(request, "consent/preferences.html", context, language,
                               status=400)
        return HttpResponse(status=400)
    with translation.override(language):
        context = {**_preferences_context(contact, language), "token": token, "errors": {}}
    return _public(request, "consent/preferences.html", context, language)


# --- public: unsubscribe ------------------------------------------------------------------------

def unsubscribe(request, token: str):
    """The footer link: GET shows the choice (and the opt-down offer); only a POST acts."""
    try:
        contact, data = read_contact_token("unsubscribe", token)
    except LinkInvalid as exc:
        return _link_error(request, exc)
    language = _public_language(request, contact.language)
    channel = data["ch"]
    url = reverse("consent:unsubscribe", args=[token])
    context = {**_preferences_context(contact, language), "action_url": url, "scope": channel,
               "scope_label": Channel(channel).label,
               "preferences_url": reverse("consent:preferences",
                                          args=[preferences_token(contact.pk)])}
    if request.method == "POST":
        op = request.POST.get("op", "unsubscribe")
        ip, ua = client_ip(request), user_agent_of(request)
        link = link_provenance("unsubscribe", data)
        with translation.override(language):
            try:
                if op == "less":
                    actions.do_reduce_frequency(contact, ip=ip, user_agent=ua, link=link)
                    return _public(request, "consent/unsubscribed.html", {
                        **context, "outcome": "less"}, language)
                if op == "pause":
                    until = actions.do_pause(contact, _weeks(request),
                                             source=Source.UNSUBSCRIBE, ip=ip, user_agent=ua,
                                             link=link)
                    return _public(request, "consent/unsubscribed.html", {
                        **context, "outcome": "paused", "until": until}, language)
                actions.do_unsubscribe(contact, [channel], source=Source.UNSUBSCRIBE,
                                       reason=request.POST.get("reason", ""),
                                       reason_text=request.POST.get("reason_text", ""),
                                       campaign=str(data.get("cmp") or ""), ip=ip,
                                       user_agent=ua, link=link)
            except ContactInvalid as exc:
                errors = exc.errors
                return _public(request, "consent/unsubscribe.html", {
                    **context, "errors": {k: str(v) for k, v in errors.items()}}, language,
                    status=400)
        return _public(request, "consent/unsubscribed.html", {**context, "outcome": "out"},
                       language)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    return _public(request, "consent/unsubscribe.html", context, language)


@csrf_exempt  # RFC 8058: mail providers post here without any cookie or token of ours
def one_click(request, token: str):
    """RFC 8058 one-click: acts only on a POST whose body is List-Unsubscribe=One-Click."""
    try:
        contact, data = read_contact_token("unsubscribe", token)
    except LinkInvalid as exc:
        return HttpResponse(str(exc), status=410 if isinstance(exc, LinkExpired) else 400,
                            content_type="text/plain; charset=utf-8")
    if request.method != "POST":
        # Scanners and previews GET every link: they change nothing.
        return redirect("consent:unsubscribe", token)
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return HttpResponse("Expected List-Unsubscribe=One-Click", status=400,
                            content_type="text/plain; charset=utf-8")
    actions.do_unsubscribe(contact, [data["ch"]], source=Source.ONE_CLICK,
                           campaign=str(data.get("cmp") or ""), ip=client_ip(request),
                           user_agent=user_agent_of(request),
                           link=link_provenance("one_click", data))
    return HttpResponse("Unsubscribed", content_type="text/plain; charset=utf-8")


# --- SMS gateway hook -----------------------------------------------------------------------

@csrf_exempt
def sms_hook(request, token: str):
    """Incoming SMS from a gateway: {from, text} as a form or JSON. Stop words and 12."""
    gateway = actions.sms_gateway(token)
    if gateway is None:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    payload: dict = {}
    if request.content_type == "application/json":
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"detail": "invalid JSON"}, status=400)
        if not isinstance(payload, dict):
            return JsonResponse({"detail": "expected an object"}, status=400)
        try:
            check_storable_text(payload)
        except InvalidValue as exc:
            reason = str(exc.message)
            return JsonResponse({"detail": reason, "errors": {exc.field: reason}}, status=400)
    else:
        payload = request.POST.dict()
    sender = str(payload.get("from") or payload.get("sender") or "")
    text = str(payload.get("text") or payload.get("message") or "")
    if not sender:
        return JsonResponse({"detail": "from is required"}, status=400)
    return JsonResponse({"result": actions.do_sms_inbound(gateway, sender, text)})


def contact_email_hint(contact: Contact) -> str:
    """The masked primary e-mail address (a•••@example.com), or ""."""
    ident = (Identity.objects.filter(contact=contact, kind=Identity.Kind.EMAIL)
             .order_by("-is_primary", "id").values_list("value", flat=True).first())
    return actions.mask_address(ident) if ident else ""


def contact_identity_hint(contact: Contact) -> str:
    """A masked address for the preference centre heading: a•••@example.com."""
    email = contact_email_hint(contact)
    if email:
        return email
    phone = (Identity.objects.filter(contact=contact, kind=Identity.Kind.PHONE)
             .order_by("-is_primary", "id").values_list("value", flat=True).first())
    return f"•••{phone[-4:]}" if phone else ""

