"""The shop's public face: the name and logo public pages show (base, so every floor's
public page can read it)."""

from __future__ import annotations

import base64

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.errors import Invalid
from peyvand.base.language import local_digits
from peyvand.base.models import ShopProfile
from peyvand.base.normalise import normalise_text
from peyvand.base.roles import require

LOGO_MAX_BYTES = 200 * 1024
# What a logo may be, by its first bytes (the browser's claimed type is not trusted).
_LOGO_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def shop_profile() -> ShopProfile:
    """The one row, or an empty unsaved one before the owner has set it."""
    return ShopProfile.objects.order_by("pk").first() or ShopProfile()


def _logo_type(data: bytes) -> str | None:
    for magic, kind in _LOGO_TYPES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_logo(data: bytes) -> str:
    """The logo as a data: URL, or Invalid."""
    if len(data) > LOGO_MAX_BYTES:
        raise Invalid({"logo": _("The logo is at most %(size)s KB.")
                       % {"size": local_digits(LOGO_MAX_BYTES // 1024)}})
    kind = _logo_type(data)
    if kind is None:
        raise Invalid({"logo": _("The logo must be a PNG, JPEG, GIF or WebP image.")})
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


@transaction.atomic
def do_save_shop_profile(actor: Actor, *, name: str, logo: bytes | None = None,
                         remove_logo: bool = False) -> ShopProfile:
    """Set the shop's name and, given one, its logo (or remove the logo)."""
    require(actor, "shop.manage")
    clean = normalise_text(name)
    if len(clean) > 100:
        raise Invalid({"name": _("At most 100 characters.")})
    profile = ShopProfile.objects.select_for_update().order_by("pk").first() or ShopProfile()
    profile.name = clean
    if logo:
        profile.logo = check_logo(logo)
    elif remove_logo:
        profile.logo = ""
    profile.save()
    record_audit(actor, "shop.profile_saved", target_type="shop", summary=clean)
    return profile
