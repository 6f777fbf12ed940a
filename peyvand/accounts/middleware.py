"""Activate each signed-in user's chosen language; others get the cookie or fa."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(user, "profile"):
            language = user.profile.language
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class TwoFactorMiddleware:
    """Owners who must use two-factor sign-in (PEYVAND_REQUIRE_2FA=1) reach no page until
    they have set it up, and a session signed in without the code (one older than the
    authenticator) is asked for it. Signing in itself (accounts.views.LoginView) already
    waits for the code of anyone with an authenticator."""

    # Where someone between password and code may still go.
    OPEN = frozenset({"accounts:login", "accounts:login_verify", "accounts:logout",
                      "accounts:set_language", "healthz"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import urlencode

        from peyvand.accounts.twofactor import has_two_factor, is_required

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is None or match.view_name in self.OPEN or "api" in match.namespaces:
            return None
        if not is_required(user):
            return None
        if has_two_factor(user):
            return redirect(reverse("accounts:login_verify") + "?"
                            + urlencode({"next": request.path}))
        if match.view_name != "accounts:two_factor":
            return redirect("accounts:two_factor")
        return None
