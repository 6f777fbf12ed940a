"""What the consent pages share: the language of public pages, their rendering, hints."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import translation

from peyvand.base.signing import LinkExpired, LinkInvalid
from peyvand.base.site import public_url
from peyvand.base.templatetags.peyvand_ui import page_language
from peyvand.consent import actions
from peyvand.contacts.models import Contact, Identity

LANGS = ("fa", "en")


def user_agent_of(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def site_url(request) -> str:
    # PEYVAND_PUBLIC_URL only: a request's Host header may be a proxy's or a forger's, and the
    # links built on it go out in mail. (The request is kept in the signature for callers.)
    return public_url()


def public_language(request, default: str | None = None) -> str:
    """?lang= (or a posted lang) wins; then the person's own language; then the visitor's."""
    lang = request.GET.get("lang") or request.POST.get("lang")
    if lang in LANGS:
        return lang
    if default in LANGS:
        return default
    return page_language()


def render_public(request, template: str, context: dict, language: str, status: int = 200):
    with translation.override(language):
        context = {**context, "lang": language, "other_lang": "en" if language == "fa" else "fa"}
        response = render(request, template, context, status=status)
    response["Content-Language"] = language
    response["X-Robots-Tag"] = "noindex"
    # The URL carries a token: never send it to other sites. (Not "no-referrer": browsers
    # then post with Origin: null, which the CSRF check refuses.)
    response["Referrer-Policy"] = "same-origin"
    return response


def link_error_page(request, exc: LinkInvalid, language: str | None = None):
    language = language or public_language(request)
    with translation.override(language):
        message = str(exc.message)
    return render_public(request, "consent/link_error.html", {"message": message,
                                                         "expired": isinstance(exc, LinkExpired)},
                   language, status=410 if isinstance(exc, LinkExpired) else 400)

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
