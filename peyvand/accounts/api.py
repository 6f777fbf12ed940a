"""Bearer-token authentication for the REST API."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from ninja.security import HttpBearer

from peyvand.accounts.actions import user_for_token


class BearerAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        # The middleware ran before the token was known: answer in the token user's language.
        profile = getattr(user, "profile", None)
        language = getattr(profile, "language", "")
        if language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return user
