"""REST API of the permission floor: a contact's consent and its ledger, mailing them their
preference link, topics and sign-up forms, reports, and the public sign-up endpoints (no token
needed: the form is public; a shop's system may send its token, and answers for the sign-up).

Thin: parse input, build an API Actor, call consent.actions / queries, render.

Over ~400 lines on purpose: as contacts/api.py, the schemas sit next to their thin handlers,
so one area's OpenAPI shape reads in one place. (It could split by area — topics, forms,
sign-up, a person's consent — when one of them grows.)
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import Http404, HttpResponse
from django.utils import translation
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (  # noqa: I001
    ERRORS,
    Body,
    ErrorOut,
    Input,
    NumberOrText,
    Paging,
    Status,
    api_actor,
    csv_answer,
    error_response,
    one_of,
    page_of,
)
from peyvand.base.actor import Actor
from peyvand.base.roles import require
from peyvand.base.signing import LinkExpired, LinkInvalid
from peyvand.consent import actions
from peyvand.consent.actions import SignupRequest, SignupThrottled
from peyvand.consent.churn import CALENDARS, DIMENSIONS, PERIODS, churn, churn_csv
from peyvand.consent.models import (
    Channel,
    ConsentChange,
    Format,
    Frequency,
    IdentityRule,
    IncentiveKind,
    SignupForm,
    Topic,
)
from peyvand.consent.queries import (
    access_form,
    consent_history,
    consent_overview,
    forms_list,
    incentive_report,
    suppression_list,
    topics_list,
)
from peyvand.consent.views import (
    client_ip,
    contact_email_hint,
    signup_context,
    site_url,
    user_agent_of,
)
from peyvand.contacts.queries import access_contact

router = Router(tags=["consent"])
PUBLIC_ERRORS = frozenset({400, 404, 410, 422, 429})
FileFormat = Annotated[str, one_of("json", "csv")]


# --- input --------------------------------------------------------------------------------------

class StaffChangeIn(Body):
    action: Annotated[str, one_of("opt_out", "pause", "preference_change")] = Field(
        ..., description="toward less contact only; anything else is refused with 400")
    channel: Annotated[str, one_of(*Channel.values)] = Field(...)
    topic: str | None = Field(None, description="a topic key; none: the whole channel")
    weeks: NumberOrText | None = Field(None, description="pause: 2, 4, 8 or 12")
    frequency: Annotated[str, one_of(*Frequency.values)] | None = Field(
        None, description="preference_change: a lower frequency")
    format: Annotated[str, one_of(*Format.values)] | None = Field(
        None, description="preference_change on email")
    note: str | None = Field(None, description="what the person asked, for the record")


class TopicIn(Body):
    key: str | None = None
    name_fa: str | None = None
    name_en: str | None = None
    description: str | None = None
    default_opt_in: bool | None = None
    default_frequency: Annotated[str, one_of(*Frequency.values)] | None = None
    active: bool | None = None
    position: NumberOrText | None = None


class FormIn(Body):
    slug: str | None = None
    name: str | None = None
    title_fa: str | None = None
    title_en: str | None = None
    identity: Annotated[str, one_of(*IdentityRule.values)] | None = None
    ask_first_name: bool | None = None
    ask_last_name: bool | None = None
    custom_fields: list[str] | None = None
    topics: list[str] | None = None
    channels: list[Annotated[str, one_of(*Channel.values)]] | None = None
    incentive_kind: Annotated[str, one_of(*IncentiveKind.values)] | None = None
    incentive_fa: str | None = None
    incentive_en: str | None = None
    consent_text_fa: str | None = None
    consent_text_en: str | None = None
    active: bool | None = None


FieldInput = str | int | float | bool | None


class SignupIn(Body):
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    fields: dict[str, FieldInput] | None = None
    topics: list[str] | None = Field(None, description="topic keys; default: those ticked "
                                                       "by default")
    channels: list[str] | None = Field(None, description="default: every offered channel "
                                                         "you gave an address for")
    language: Literal["fa", "en"] | None = Field(None, description="the page the person saw")
    started: str = Field("", description="the `started` value GET …/start returned")
    text_version: int | None = Field(None, description="the consent text version shown")
    website: str | None = Field(None, description="leave empty (spam trap)")


class CodeIn(Body):
    token: str
    code: str


class ChurnQuery(Input):
    period: Annotated[str, one_of(*PERIODS)] = "month"
    by: Annotated[str, one_of(*DIMENSIONS)] = "channel"
    periods: int = Field(12, ge=1, le=60)
    calendar: Annotated[str, one_of(*CALENDARS)] = "jalali"
    format: FileFormat = "json"


class SuppressionQuery(Paging):
    channel: str = ""
    reason: str = ""


# --- output -------------------------------------------------------------------------------------

class TopicStateOut(Schema):
    topic: str
    status: str
    frequency: str


class ChannelStateOut(Schema):
    channel: str
    status: str = Field(description="in, pending, out or none")
    frequency: str
    format: str
    paused_until: dt.datetime | None
    suppressed: bool
    suppression: str = Field(description="opted_out, hard_bounce, complaint or empty")
    confirmed_at: dt.datetime | None
    topics: list[TopicStateOut]


class ConsentOut(Schema):
    contact_id: int
    channels: list[ChannelStateOut]


class ChangeOut(Schema):
    id: int
    at: dt.datetime
    channel: str
    topic: str | None
    action: str
    source: str
    form: str | None
    text_version: int | None
    text_language: str | None
    ip: str | None
    user_agent: str
    actor: str
    details: dict[str, Any]


class ChangePage(Schema):
    items: list[ChangeOut]
    count: int
    page: int
    page_size: int


class LinkSentOut(Schema):
    sent_to: str = Field(description="the address the link went to, masked (a•••@example.com)")


class TopicOut(Schema):
    key: str
    name_fa: str
    name_en: str
    description: str
    default_opt_in: bool
    default_frequency: str
    active: bool
    position: int


class TopicList(Schema):
    items: list[TopicOut]
    count: int


class FormOut(Schema):
    slug: str
    name: str
    title_fa: str
    title_en: str
    identity: str
    ask_first_name: bool
    ask_last_name: bool
    custom_fields: list[str]
    topics: list[str]
    channels: list[str]
    incentive_kind: str
    incentive_fa: str
    incentive_en: str
    consent_text_fa: str
    consent_text_en: str
    text_version_fa: int | None
    text_version_en: int | None
    active: bool
    hosted_url: str


class FormList(Schema):
    items: list[FormOut]
    count: int


class DeletedOut(Schema):
    outcome: str = Field(description="deleted, or retired/closed when it has history")


class PublicFieldOut(Schema):
    key: str
    label: str
    type: str
    choices: list[str]


class PublicChoiceOut(Schema):
    key: str
    name: str
    checked: bool


class PublicFormOut(Schema):
    slug: str
    language: str
    title: str
    incentive_kind: str
    incentive: str
    identity: str
    ask_first_name: bool
    ask_last_name: bool
    fields: list[PublicFieldOut]
    topics: list[PublicChoiceOut]
    channels: list[PublicChoiceOut]
    consent_text: str
    text_version: int | None
    started: str = Field(description="send back as `started`; submissions need it")


class SignupOut(Schema):
    """The same for every valid submission, whoever is or is not subscribed already: it
    reveals nothing about the addresses given."""

    status: str = Field(description="always accepted")
    email_sent: bool = Field(description="an e-mail address was given for a channel it "
                                         "proves: a message goes to it (a confirmation, or a "
                                         "note that nothing needs confirming), at most a few "
                                         "a day")
    code_token: str = Field("", description="with a mobile for SMS or calls: POST it with the "
                                            "texted code to …/code")


class ConfirmOut(Schema):
    status: str
    channels: list[str]


class IncentiveRowOut(Schema):
    form: str
    form_name: str
    incentive_kind: str
    signups: int
    confirmed: int
    rate: float | None


class IncentiveReportOut(Schema):
    items: list[IncentiveRowOut]


class ChurnRowOut(Schema):
    period_start: dt.date
    period: str
    group: str
    base: int
    opt_outs: int
    rate: float | None


class ChurnOut(Schema):
    period: str
    by: str
    calendar: str
    items: list[ChurnRowOut]


class SuppressionOut(Schema):
    contact_id: int
    channel: str
    reason: str
    since: dt.datetime


class SuppressionPage(Schema):
    items: list[SuppressionOut]
    count: int
    page: int
    page_size: int


# --- helpers ------------------------------------------------------------------------------------

def _change_out(c: ConsentChange) -> dict[str, Any]:
    return {"id": c.pk, "at": c.at, "channel": c.channel,
            "topic": c.topic.key if c.topic else None, "action": c.action,
            "source": c.source, "form": c.form.slug if c.form else None,
            "text_version": c.text.version if c.text else None,
            "text_language": c.text.language if c.text else None,
            "ip": c.ip, "user_agent": c.user_agent, "actor": c.actor_label,
            "details": c.details}


def _topic(key: str) -> Topic:
    topic = Topic.objects.filter(key=key.replace("\x00", "")).first()
    if topic is None:
        raise Http404
    return topic


def _topic_out(t: Topic) -> dict[str, Any]:
    return {name: getattr(t, name) for name in TopicOut.model_fields}


def _form_out(request, f: SignupForm) -> dict[str, Any]:
    data = {name: getattr(f, name) for name in (
        "slug", "name", "title_fa", "title_en", "identity", "ask_first_name", "ask_last_name",
        "channels", "incentive_kind", "incentive_fa", "incentive_en", "active")}
    data["topics"] = [t.key for t in f.topics.all()]
    data["custom_fields"] = [c.key for c in f.custom_fields.all()]
    for language in ("fa", "en"):
        text = f.current_text(language)
        data[f"consent_text_{language}"] = text.text if text else ""
        data[f"text_version_{language}"] = text.version if text else None
    data["hosted_url"] = site_url(request) + f"/consent/f/{f.slug}/"
    return data


def _public_form(slug: str) -> SignupForm:
    form = SignupForm.objects.filter(slug=slug.replace("\x00", "")).first()
    if form is None:
        raise Http404
    return form


def _gone(request):
    message = translation.gettext("This form no longer accepts sign-ups.")
    return error_response(request, 410, message, {"form": message})


# --- one contact --------------------------------------------------------------------------------

@router.get("/contacts/{contact_id}/consent", response={200: ConsentOut, ERRORS: ErrorOut})
def get_consent(request, contact_id: int):
    """Current consent per channel and topic: status, frequency, format, pause, suppression."""
    actor = api_actor(request)
    overview = consent_overview(actor, access_contact(actor, contact_id))
    for channel in overview["channels"]:
        channel["topics"] = [{k: v for k, v in t.items() if k != "topic_obj"}
                             for t in channel["topics"]]
    return overview


@router.get("/contacts/{contact_id}/consent/history",
            response={200: ChangePage, ERRORS: ErrorOut})
def consent_ledger(request, contact_id: int, paging: Query[Paging]):
    """The contact's consent ledger, newest first: every change as it happened."""
    actor = api_actor(request)
    page, count = page_of(consent_history(actor, access_contact(actor, contact_id)), paging)
    return {"items": [_change_out(c) for c in page], "count": count, "page": paging.page,
            "page_size": paging.page_size}


@router.post("/contacts/{contact_id}/consent", response={201: ChangeOut, ERRORS: ErrorOut})
def change_consent(request, contact_id: int, payload: StaffChangeIn):
    """Record what the person asked staff for. Only toward less contact (opt-out, pause,
    lower frequency, other format); subscribing or resuming for them is refused (400)."""
    actor = api_actor(request)
    contact = access_contact(actor, contact_id)
    row = actions.do_staff_change(actor, contact, payload.model_dump(exclude_none=True))
    return Status(201, _change_out(ConsentChange.objects.select_related(
        "topic", "form", "text").get(pk=row.pk)))


@router.get("/contacts/{contact_id}/consent/proof", response={200: dict[str, Any],
                                                               ERRORS: ErrorOut},
            openapi_extra=csv_answer(also_json=True))
def consent_proof(request, contact_id: int, format: FileFormat = "json"):
    """Proof of consent: the whole ledger with the exact texts agreed to (audited)."""
    actor = api_actor(request)
    contact = access_contact(actor, contact_id)
    data = actions.do_export_proof(actor, contact, format)
    if format == "csv":
        response = HttpResponse(actions.proof_csv(data), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="consent-proof-{contact.pk}.csv"'
        return response
    return data


@router.post("/contacts/{contact_id}/consent/preference-link",
             response={202: LinkSentOut, ERRORS: ErrorOut})
def send_preference_link(request, contact_id: int):
    """E-mail the person their own preference link, at their request. The link itself is
    never handed to staff (whoever holds it can act as the person); changes made with it
    are recorded as the person's, through a link this user had sent. Audited."""
    actor = api_actor(request)
    require(actor, "consent.send_link")
    contact = access_contact(actor, contact_id)
    actions.do_send_preference_link(actor, contact)
    return Status(202, {"sent_to": contact_email_hint(contact)})


# --- topics -------------------------------------------------------------------------------------

@router.get("/topics", response={200: TopicList, ERRORS: ErrorOut})
def list_topics(request):
    items = [_topic_out(t) for t in topics_list(api_actor(request))]
    return {"items": items, "count": len(items)}


@router.post("/topics", response={201: TopicOut, ERRORS: ErrorOut})
def create_topic(request, payload: TopicIn):
    topic = actions.do_save_topic(api_actor(request), payload.model_dump(exclude_none=True))
    return Status(201, _topic_out(topic))


@router.get("/topics/{key}", response={200: TopicOut, ERRORS: ErrorOut})
def get_topic(request, key: str):
    require(api_actor(request), "consent.view")
    return _topic_out(_topic(key))


@router.patch("/topics/{key}", response={200: TopicOut, ERRORS: ErrorOut})
def update_topic(request, key: str, payload: TopicIn):
    actor = api_actor(request)
    require(actor, "forms.manage")
    topic = actions.do_save_topic(actor, payload.model_dump(exclude_unset=True), _topic(key))
    return _topic_out(topic)


@router.delete("/topics/{key}", response={200: DeletedOut, ERRORS: ErrorOut})
def delete_topic(request, key: str):
    """Deletes a topic nobody chose; one with consent history is retired (inactive)."""
    actor = api_actor(request)
    require(actor, "forms.manage")
    return {"outcome": actions.do_delete_topic(actor, _topic(key))}


# --- sign-up forms --------------------------------------------------------------------------------

@router.get("/forms", response={200: FormList, ERRORS: ErrorOut})
def list_forms(request):
    items = [_form_out(request, f) for f in forms_list(api_actor(request))
             .prefetch_related("custom_fields")]
    return {"items": items, "count": len(items)}


@router.post("/forms", response={201: FormOut, ERRORS: ErrorOut})
def create_form(request, payload: FormIn):
    form = actions.do_save_form(api_actor(request), payload.model_dump(exclude_none=True))
    return Status(201, _form_out(request, form))


@router.get("/forms/{slug}", response={200: FormOut, ERRORS: ErrorOut})
def get_form(request, slug: str):
    return _form_out(request, access_form(api_actor(request), slug.replace("\x00", "")))


@router.patch("/forms/{slug}", response={200: FormOut, ERRORS: ErrorOut})
def update_form(request, slug: str, payload: FormIn):
    """Change the keys given; a changed consent text becomes a new version."""
    actor = api_actor(request)
    require(actor, "forms.manage")
    form = actions.do_save_form(actor, payload.model_dump(exclude_unset=True),
                                access_form(actor, slug.replace("\x00", "")))
    return _form_out(request, form)


@router.delete("/forms/{slug}", response={200: DeletedOut, ERRORS: ErrorOut})
def delete_form(request, slug: str):
    """Deletes a form nobody used; one with sign-ups is closed instead."""
    actor = api_actor(request)
    require(actor, "forms.manage")
    return {"outcome": actions.do_delete_form(actor, access_form(actor, slug.replace("\x00", "")))}


@router.get("/forms/{slug}/start", auth=None, response={200: PublicFormOut,
                                                         PUBLIC_ERRORS: ErrorOut})
def start_signup(request, slug: str, lang: Literal["fa", "en"] = "fa"):
    """Public: the form as a person sees it, with the signed start time to send back."""
    form = _public_form(slug)
    if not form.active:
        return _gone(request)
    language = lang if lang in ("fa", "en") else "fa"
    with translation.override(language):
        context = signup_context(form, language)
    text = context["text"]
    return {
        "slug": form.slug, "language": language, "title": context["title"],
        "incentive_kind": form.incentive_kind, "incentive": context["incentive"],
        "identity": form.identity, "ask_first_name": form.ask_first_name,
        "ask_last_name": form.ask_last_name,
        "fields": [{"key": f["key"], "label": f["label"], "type": f["type"],
                    "choices": f["choices"] or []} for f in context["custom"]],
        "topics": [{"key": t["key"], "name": t["name"], "checked": t["checked"]}
                   for t in context["topics"]],
        "channels": [{"key": c["key"], "name": str(c["name"]), "checked": c["checked"]}
                     for c in context["channels"]],
        "consent_text": text.text if text else "", "text_version": text.version if text else None,
        "started": actions.start_token(form),
    }


def _submitting_actor(request):
    """The user of the bearer token a shop's system sent with a sign-up, or None for a
    person's browser; a token that is sent must be valid (401 otherwise)."""
    from ninja.errors import AuthenticationError

    from peyvand.accounts.api import BearerAuth

    header = request.headers.get("Authorization", "")
    if not header:
        return None
    user = BearerAuth()(request)
    if user is None:
        raise AuthenticationError
    return Actor.for_user(user, "api")


@router.post("/forms/{slug}/submit", auth=None, response={202: SignupOut,
                                                           PUBLIC_ERRORS | {401}: ErrorOut})
def submit_signup(request, slug: str, payload: SignupIn):
    """Public: sign a person up. The same checks as the hosted page: at least the
    `started` value from …/start and some seconds between the two, a spam trap, a limit per
    IP (429), then double opt-in — nothing but the confirmation is sent until confirmed.

    The answer is the same whether the address is new, awaiting confirmation or subscribed.
    A shop's system signing up its customers sends its API token
    (`Authorization: Bearer …`): the ledger then records that token's user as the one who
    submitted it (source api); the person still confirms themselves."""
    actor = _submitting_actor(request)
    form = _public_form(slug)
    if not form.active:
        return _gone(request)
    data = payload.model_dump(exclude_none=True)
    language = data.pop("language", "fa")
    language = language if language in ("fa", "en") else "fa"
    signup = SignupRequest(ip=client_ip(request), user_agent=user_agent_of(request),
                           language=language,
                           started=data.pop("started", ""), honeypot=data.pop("website", ""),
                           via="api", link_base=site_url(request),
                           text_version=data.pop("text_version", None), actor=actor)
    with translation.override(language):
        try:
            result = actions.do_submit_signup(form, data, signup)
        except SignupThrottled as exc:
            return error_response(request, 429, str(exc))
    return Status(202, {"status": "accepted", "email_sent": result.email_sent,
                        "code_token": result.code_token})


@router.post("/forms/{slug}/code", auth=None, response={200: ConfirmOut,
                                                         PUBLIC_ERRORS: ErrorOut})
def confirm_code(request, slug: str, payload: CodeIn):
    """Public: confirm a mobile sign-up with the texted code (5 tries, 10 minutes)."""
    try:
        signup = actions.signup_for_token("signup_code", payload.token, actions.STARTED_MAX_AGE)
        if signup.form.slug != slug:
            raise LinkInvalid
        result = actions.do_confirm_code(payload.token, payload.code, ip=client_ip(request),
                                         user_agent=user_agent_of(request))
    except LinkInvalid as exc:
        return error_response(request, 410 if isinstance(exc, LinkExpired) else 400,
                              str(exc.message), {"token": str(exc.message)})
    return {"status": result.status, "channels": result.channels}


# --- reports --------------------------------------------------------------------------------------

@router.get("/consent/incentives", response={200: IncentiveReportOut, ERRORS: ErrorOut})
def incentives(request):
    """Per form and incentive: sign-ups, confirmed, confirmation rate."""
    return {"items": incentive_report(api_actor(request))}


@router.get("/consent/churn", response={200: ChurnOut, ERRORS: ErrorOut},
            openapi_extra=csv_answer(also_json=True))
def consent_churn(request, query: Query[ChurnQuery]):
    """Opt-outs per period as a share of the reachable base at the period start, by
    channel, topic, reason, source, form or campaign; `format=csv` for a file."""
    errors = {}
    if query.period not in PERIODS:
        errors["period"] = "week, month"
    if query.by not in DIMENSIONS:
        errors["by"] = ", ".join(DIMENSIONS)
    if query.calendar not in CALENDARS:
        errors["calendar"] = ", ".join(CALENDARS)
    if query.format not in ("json", "csv"):
        errors["format"] = "json, csv"
    if errors:
        return error_response(request, 400, translation.gettext("Invalid input."), errors)
    report = churn(api_actor(request), period=query.period, by=query.by,
                   periods=query.periods, calendar=query.calendar, language="en")
    if query.format == "csv":
        response = HttpResponse(churn_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = \
            f'attachment; filename="churn-{query.period}-{query.by}.csv"'
        return response
    return {"period": report.period, "by": report.by, "calendar": report.calendar,
            "items": [{"period_start": r.period_start, "period": r.label, "group": r.group,
                       "base": r.base, "opt_outs": r.opt_outs, "rate": r.rate}
                      for r in report.rows]}


@router.get("/consent/suppressions", response={200: SuppressionPage, ERRORS: ErrorOut})
def suppressions(request, query: Query[SuppressionQuery]):
    """Channels people may not receive marketing on, and why."""
    qs = suppression_list(api_actor(request), channel=query.channel, reason=query.reason)
    page, count = page_of(qs, query)
    return {"items": [{"contact_id": s.contact_id, "channel": s.channel,
                       "reason": s.suppression, "since": s.changed_at} for s in page],
            "count": count, "page": query.page, "page_size": query.page_size}
