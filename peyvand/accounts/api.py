"""Bearer-token authentication for the REST API, and the API of the tokens themselves."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import translation
from ninja import Field, Query, Router, Schema
from ninja.security import HttpBearer

from peyvand.accounts.actions import do_revoke_token, user_for_token
from peyvand.accounts.models import ApiToken
from peyvand.accounts.queries import access_token, visible_tokens
from peyvand.accounts.twofactor import check_token_user
from peyvand.api_common import DB_INT, ERRORS, ErrorOut, Paging, api_actor, page_of


class BearerAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is None:
            return None
        # The middleware ran before the token was known: answer in the token user's language.
        profile = getattr(user, "profile", None)
        language = getattr(profile, "language", "")
        if language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        check_token_user(user)  # 403 for an owner who must, and has not, set up 2FA
        request.user = user
        return user


router = Router(tags=["tokens"])


class TokenOut(Schema):
    id: int
    user: str
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it by")
    state: str = Field(description="active, expired or revoked")
    created_at: dt.datetime
    expires_at: dt.datetime | None = Field(description="null: until revoked")
    last_used_at: dt.datetime | None = Field(description="to the minute")
    revoked_at: dt.datetime | None


class TokenPage(Schema):
    items: list[TokenOut]
    count: int


class TokenFilter(Paging):
    user: str | None = Field(None, description="only this user's tokens")


def token_out(token: ApiToken) -> dict:
    return {"id": token.pk, "user": token.user.get_username(), "name": token.name,
            "prefix": token.prefix, "state": token.state(), "created_at": token.created_at,
            "expires_at": token.expires_at, "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at}


@router.get("/tokens", response={200: TokenPage, ERRORS: ErrorOut})
def list_tokens(request, filters: Query[TokenFilter]):
    """Your own API tokens, or everyone's for an owner; revoked and expired ones included.
    New tokens are made with `peyvand token create` or on the API tokens page."""
    tokens = visible_tokens(api_actor(request))
    if filters.user:
        tokens = tokens.filter(user__username__iexact=filters.user)
    page, count = page_of(tokens, filters)
    return {"items": [token_out(t) for t in page], "count": count}


@router.get("/tokens/{token_id}", response={200: TokenOut, ERRORS: ErrorOut})
def get_token(request, token_id: DB_INT):
    return token_out(access_token(api_actor(request), token_id))


@router.delete("/tokens/{token_id}", response={200: TokenOut, ERRORS: ErrorOut})
def revoke_token(request, token_id: DB_INT):
    """Revoke a token for good (your own, or anyone's for an owner). Revoking one already
    revoked changes nothing."""
    actor = api_actor(request)
    token = access_token(actor, token_id)
    do_revoke_token(actor, token)
    return token_out(token)
