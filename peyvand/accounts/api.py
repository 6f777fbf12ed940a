from __future__ import annotations

from ninja.security import HttpBearer

from peyvand.accounts.actions import user_for_token


class BearerAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user
