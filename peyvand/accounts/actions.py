"""Writes on users, roles and tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from peyvand.accounts.models import ApiToken, Profile
from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.roles import ROLES, require

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


MAX_TOKEN_DAYS = 3650


def check_token_expiry(expires_at: dt.datetime | None) -> dt.datetime | None:
    if expires_at is None:
        return None
    if expires_at <= timezone.now():
        raise ValidationError(_("A token's expiry must lie in the future."))
    if expires_at > timezone.now() + dt.timedelta(days=MAX_TOKEN_DAYS):
        raise ValidationError(_("A token expires within ten years, or never."))
    return expires_at


@transaction.atomic
def do_create_token(actor: Actor, user, name: str = "",
                    expires_at: dt.datetime | None = None) -> str:
    """Create a token for `user`; returns the only copy of the key. `expires_at` None: it
    works until revoked."""
    if actor.user is None or actor.user.pk != user.pk:
        require(actor, "users.manage")
    check_token_expiry(expires_at)
    name = name.strip()[:100]
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:12],
                                    key_hash=hash_token(key), expires_at=expires_at)
    record_audit(actor, "token.create", target_type="user", target_id=user.pk,
                 summary=f"{user.username}: {name or key[:12]}",
                 details={"token_id": token.pk,
                          "expires_at": expires_at.isoformat() if expires_at else None})
    return key


@transaction.atomic
def do_revoke_token(actor: Actor, token: ApiToken) -> bool:
    """Revoke the token for good; False when it was revoked already (nothing changes)."""
    if actor.user is None or actor.user.pk != token.user_id:
        require(actor, "users.manage")
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    if changed:
        record_audit(actor, "token.revoke", target_type="user", target_id=token.user_id,
                     summary=f"{token.prefix} {token.name}".strip(),
                     details={"token_id": token.pk})
    return bool(changed)


def user_for_token(key: str):
    """The active user a bearer key belongs to, or None (unknown, revoked or expired)."""
    if not key or not key.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (ApiToken.objects.select_related("user", "user__profile")
             .filter(key_hash=hash_token(key), revoked_at__isnull=True)
             .exclude(expires_at__lte=now).first())
    if token is None or not token.user.is_active:
        return None
    # At most one write a minute per token: the list shows when it was last used.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
