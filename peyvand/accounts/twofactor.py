"""Two-factor sign-in: a time-based one-time code (TOTP, RFC 6238) from an authenticator app.

One confirmed device per user (django-otp's TOTPDevice, which also refuses a code used once
already and slows down repeated wrong codes). Setting one up takes a code from the app, so a
mistyped secret never locks anyone out. With PEYVAND_REQUIRE_2FA=1 owners must have one: the
web interface sends them to set it up, and their API tokens are refused until they have.
Someone who lost their phone is reset by an owner (UI) or the server's operator
(`peyvand twofactor reset NAME`), then sets up again at the next sign-in.
"""

from __future__ import annotations

import base64

import segno
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import ascii_digits
from peyvand.base.roles import OWNER, require, role_of

REQUIRED_ROLES = frozenset({OWNER})


def is_required(user) -> bool:
    return bool(settings.PEYVAND_REQUIRE_2FA) and role_of(user) in REQUIRED_ROLES


def confirmed_device(user) -> TOTPDevice | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_two_factor(user) -> bool:
    return confirmed_device(user) is not None


def check_token_user(user) -> None:
    """An API token acts for its user; an owner who must use two-factor sign-in and has not
    set it up yet may not use one (the password alone would otherwise still be enough)."""
    if is_required(user) and not has_two_factor(user):
        raise PermissionDenied(_("Owners must use two-factor sign-in (PEYVAND_REQUIRE_2FA=1): "
                                 "sign in to the web interface and set it up; until then this "
                                 "token is refused."))


def _clean(code: str) -> str:
    return "".join(ascii_digits(code or "").split())


def verify_code(device: TOTPDevice | None, code: str) -> bool:
    """True when `code` is the device's current one (each code works once)."""
    code = _clean(code)
    if device is None or not code.isdigit() or len(code) != device.digits:
        if device is not None:
            device.throttle_increment()
        return False
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        verified = locked.verify_token(code)
    device.refresh_from_db()
    return verified


def wait_seconds(device: TOTPDevice | None) -> int:
    """How long wrong codes have paused verification (0 when a code may be tried now)."""
    if device is None:
        return 0
    allowed, data = device.verify_is_allowed()
    if allowed or not data or "locked_until" not in data:
        return 0
    from django.utils import timezone

    return max(1, int((data["locked_until"] - timezone.now()).total_seconds()) + 1)


# --- setting up, turning off, resetting -------------------------------------------------------

def pending_device(user) -> TOTPDevice:
    """The not yet confirmed device being set up (a new secret when there is none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed: base32 in groups of four."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// address as an inline SVG QR code, drawn here (no image service)."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5, dark="#111", light="#fff", border=2, title=_("QR code for the authenticator"))


# The code is checked outside the writing transaction: a wrong one must still count towards
# the device's pause, not be rolled back with the refusal.

def do_confirm_two_factor(actor: Actor, user, code: str) -> TOTPDevice:
    """Turn on two-factor sign-in with the device being set up, once its code matches."""
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied(_("Only the person who holds the authenticator can set it up."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise ValidationError(_("Start the set-up again: there is no code to check yet."))
    if not verify_code(device, code):
        raise ValidationError(_("That code is not right. Check the time on your phone and "
                                "type the code the app shows now."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record_audit(actor, "2fa.enable", target_type="user", target_id=user.pk,
                     summary=user.get_username())
    return device


def do_disable_two_factor(actor: Actor, user, code: str) -> None:
    """Turn off one's own two-factor sign-in; a current code proves the phone is at hand."""
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied(_("Only the person who holds the authenticator can turn it "
                                 "off; an owner can reset it instead."))
    if is_required(user):
        raise ValidationError(_("Owners must use two-factor sign-in here (PEYVAND_REQUIRE_2FA=1)"
                                "; it cannot be turned off."))
    if not verify_code(confirmed_device(user), code):
        raise ValidationError(_("That code is not right."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        record_audit(actor, "2fa.disable", target_type="user", target_id=user.pk,
                     summary=user.get_username())


@transaction.atomic
def do_reset_two_factor(actor: Actor, user) -> bool:
    """Remove someone's authenticator (lost phone); they set up a new one at next sign-in.
    Returns False when there was none."""
    require(actor, "users.manage")
    deleted, _kinds = TOTPDevice.objects.filter(user=user).delete()
    if deleted:
        record_audit(actor, "2fa.reset", target_type="user", target_id=user.pk,
                     summary=user.get_username())
    return bool(deleted)
