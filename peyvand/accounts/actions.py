"""Writes on users, roles and tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.accounts.models import ApiToken, Profile
from peyvand.accounts.roles import ROLES, require
from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit

User = get_user_model()
TOKEN_PREFIX = "pvd_"


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(_("Unknown role “%(role)s”; choose one of: %(roles)s.")
                              % {"role": role, "roles": ", ".join(ROLES)})
    return role


@transaction.atomic
def do_create_user(actor: Actor, username: str, *, role: str, password: str,
                   language: str = "fa", email: str = ""):
    require(actor, "users.manage")
    check_role(role)
    username = username.strip()
    if not username:
        raise ValidationError(_("A user name is required."))
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("A user named “%(name)s” already exists.") % {"name": username})
    validate_password(password)
    user = User.objects.create_user(username=username, password=password, email=email)
    Profile.objects.create(user=user, role=role, language=language)
    record_audit(actor, "user.create", target_type="user", target_id=user.pk,
                 summary=f"{username} as {role}", details={"role": role})
    return user


@transaction.atomic
def do_change_role(actor: Actor, user, role: str) -> None:
    require(actor, "users.manage")
    check_role(role)
    profile = Profile.objects.select_for_update().get(user=user)
    old = profile.role
    if old == role:
        return
    if old == "owner" and not Profile.objects.filter(role="owner", user__is_active=True)\
            .exclude(pk=profile.pk).exists():
        raise ValidationError(_("The last owner cannot lose the owner role."))
    profile.role = role
    profile.save(update_fields=["role"])
    record_audit(actor, "user.role_change", target_type="user", target_id=user.pk,
                 summary=f"{user.username}: {old} -> {role}", details={"from": old, "to": role})


@transaction.atomic
def do_set_active(actor: Actor, user, active: bool) -> None:
    require(actor, "users.manage")
    if not active and getattr(user, "profile", None) and user.profile.role == "owner" and not \
            Profile.objects.filter(role="owner", user__is_active=True).exclude(user=user).exists():
        raise ValidationError(_("The last owner cannot be deactivated."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    record_audit(actor, "user.activate" if active else "user.deactivate", target_type="user",
                 target_id=user.pk, summary=user.username)


def do_set_language(user, language: str) -> None:
    Profile.objects.filter(user=user).update(language=language)


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def do_create_token(actor: Actor, user, name: str = "") -> str:
    """Create a token for `user`; returns the only copy of the key."""
    if actor.user is None or actor.user.pk != user.pk:
        require(actor, "users.manage")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=key[:12], key_hash=hash_token(key))
    record_audit(actor, "token.create", target_type="user", target_id=user.pk,
                 summary=f"{user.username}: {name or key[:12]}")
    return key


def do_revoke_token(actor: Actor, token: ApiToken) -> None:
    if actor.user is None or actor.user.pk != token.user_id:
        require(actor, "users.manage")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit(actor, "token.revoke", target_type="user", target_id=token.user_id,
                 summary=token.prefix)


def user_for_token(key: str):
    """The active user a bearer key belongs to, or None."""
    if not key or not key.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.select_related("user", "user__profile")
             .filter(key_hash=hash_token(key), revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
