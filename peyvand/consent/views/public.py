"""Public pages (no sign-in, a signed link or a form is the authority): the hosted sign-up form,
confirmation, preference centre, unsubscribe, RFC 8058 one-click, and the SMS gateway hook."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from peyvand.base.http import client_ip
from peyvand.base.normalise import InvalidValue, check_storable_text
from peyvand.base.signing import LinkExpired, LinkInvalid
from peyvand.consent import actions
from peyvand.consent.actions import PAUSE_WEEKS, UNSUBSCRIBE_REASONS, SignupRequest, SignupThrottled
from peyvand.consent.forms import weeks_label
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
    Topic,
)
from peyvand.consent.views.common import (
    LANGS,
    contact_identity_hint,
    link_error_page,
    public_language,
    render_public,
    site_url,
    user_agent_of,
)
from peyvand.contacts.actions import ContactInvalid
from peyvand.contacts.models import Contact, CustomField

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
    language = public_language(request)
    context = signup_context(signup_form, language)
    if not signup_form.active:
        return render_public(request, "consent/signup_closed.html", context, language, status=410)
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
                return render_public(request, "consent/signup_thanks.html",
                               context, language)
        context = signup_context(signup_form, language, raw)
    with translation.override(language):
        context["started"] = actions.start_token(signup_form)
    context["errors"] = errors
    return render_public(request, "consent/signup.html", context, language, status=status)


def signup_code(request, slug: str, token: str):
    language = public_language(request)
    try:
        signup = actions.signup_for_token("signup_code", token, actions.STARTED_MAX_AGE)
    except LinkInvalid as exc:
        return link_error_page(request, exc, language)
    if signup.form.slug != slug:
        raise Http404
    language = public_language(request, signup.language)
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
                    return render_public(request, "consent/confirmed.html",
                                   {**context, "result": result}, language)
            except ContactInvalid as exc:
                context["errors"] = {k: str(v) for k, v in exc.errors.items()}
                status = 400
            except LinkInvalid as exc:
                return link_error_page(request, exc, language)
    return render_public(request, "consent/signup_code.html", context, language, status=status)


# --- public: confirmation link ----------------------------------------------------------------

def confirm(request, token: str):
    """GET shows a button; only the POST confirms (mail scanners open links too)."""
    try:
        signup = actions.signup_for_token("confirm", token, actions.CONFIRM_MAX_AGE)
    except LinkInvalid as exc:
        return link_error_page(request, exc)
    language = public_language(request, signup.language)
    context = {"signup_form": signup.form, "title": signup.form.title(language)}
    if request.method == "POST":
        try:
            result = actions.do_confirm_email(token, ip=client_ip(request),
                                              user_agent=user_agent_of(request))
        except LinkInvalid as exc:
            return link_error_page(request, exc, language)
        return render_public(request, "consent/confirmed.html", {**context, "result": result},
                       language)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    return render_public(request, "consent/confirm.html", context, language)


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
        return link_error_page(request, exc)
    language = public_language(request, contact.language)
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
                    return render_public(request, "consent/unsubscribe.html", {
                        **_preferences_context(contact, language), "action_url": url,
                        "scope": "all", "preferences_url": url}, language)
                if op == "unsubscribe":
                    actions.do_unsubscribe(
                        contact, None, source=Source.PREFERENCES,
                        reason=request.POST.get("reason", ""),
                        reason_text=request.POST.get("reason_text", ""), ip=ip, user_agent=ua,
                        link=link)
                    return render_public(request, "consent/unsubscribed.html", {
                        "preferences_url": url}, language)
            except ContactInvalid as exc:
                errors = exc.errors
                context = {**_preferences_context(contact, language), "token": token,
                           "errors": {k: str(v) for k, v in errors.items()}}
                return render_public(request, "consent/preferences.html", context, language,
                               status=400)
        return HttpResponse(status=400)
    with translation.override(language):
        context = {**_preferences_context(contact, language), "token": token, "errors": {}}
    return render_public(request, "consent/preferences.html", context, language)


# --- public: unsubscribe ------------------------------------------------------------------------

def unsubscribe(request, token: str):
    """The footer link: GET shows the choice (and the opt-down offer); only a POST acts."""
    try:
        contact, data = read_contact_token("unsubscribe", token)
    except LinkInvalid as exc:
        return link_error_page(request, exc)
    language = public_language(request, contact.language)
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
                    return render_public(request, "consent/unsubscribed.html", {
                        **context, "outcome": "less"}, language)
                if op == "pause":
                    until = actions.do_pause(contact, _weeks(request),
                                             source=Source.UNSUBSCRIBE, ip=ip, user_agent=ua,
                                             link=link)
                    return render_public(request, "consent/unsubscribed.html", {
                        **context, "outcome": "paused", "until": until}, language)
                actions.do_unsubscribe(contact, [channel], source=Source.UNSUBSCRIBE,
                                       reason=request.POST.get("reason", ""),
                                       reason_text=request.POST.get("reason_text", ""),
                                       campaign=str(data.get("cmp") or ""), ip=ip,
                                       user_agent=ua, link=link)
            except ContactInvalid as exc:
                errors = exc.errors
                return render_public(request, "consent/unsubscribe.html", {
                    **context, "errors": {k: str(v) for k, v in errors.items()}}, language,
                    status=400)
        return render_public(request, "consent/unsubscribed.html", {**context, "outcome": "out"},
                       language)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    return render_public(request, "consent/unsubscribe.html", context, language)


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
