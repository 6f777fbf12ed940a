"""Reads on users and tokens."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from peyvand.accounts.models import ApiToken
from peyvand.base.actor import Actor
from peyvand.base.roles import can


def visible_tokens(actor: Actor) -> QuerySet[ApiToken]:
    """Everyone's tokens for a role that manages users (and the shell operator); otherwise
    one's own."""
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if can(actor, "users.manage"):
        return tokens
    if actor.user is None:
        return tokens.none()
    return tokens.filter(user=actor.user)


def access_token(actor: Actor, token_id: int) -> ApiToken:
    """One token the actor may see; 404 for any other, without saying whether it exists."""
    token = visible_tokens(actor).filter(pk=token_id).first()
    if token is None:
        raise Http404
    return token
