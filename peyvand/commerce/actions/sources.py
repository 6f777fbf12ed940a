"""Shop sources and their webhook deliveries."""

from __future__ import annotations

import re
import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.normalise import normalise_text
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.commerce.actions.checks import CommerceInvalid
from peyvand.commerce.models import ShopSource, WebhookDelivery
from peyvand.commerce.money import currency_code

# --- shop sources and their deliveries --------------------------------------------------------

_SOURCE_NAME = re.compile(r"^[\w-]{1,48}$")


@transaction.atomic
def do_create_source(actor: Actor, kind: str, name: str, currency: str = "IRT") -> ShopSource:
    """A shop that may send webhooks; its secret is shown to the owner to paste in the shop."""
    require(actor, "sources.manage")
    if kind not in ShopSource.Kind.values:
        raise CommerceInvalid({"kind": _("Unknown shop kind “%(kind)s”; use: %(kinds)s.")
                               % {"kind": kind, "kinds": ", ".join(ShopSource.Kind.values)}})
    name = normalise_text(name).lower().replace(" ", "-")
    if not _SOURCE_NAME.match(name):
        raise CommerceInvalid({"name": _("A name has 1–48 letters, digits, - or _ "
                                         "(e.g. myshop).")})
    currency = currency_code(currency)
    if ShopSource.objects.filter(name=name).exists():
        raise CommerceInvalid({"name": _("There is a shop named “%(name)s” already.")
                               % {"name": name}})
    source = ShopSource.objects.create(kind=kind, name=name, currency=currency,
                                       token=secrets.token_urlsafe(24),
                                       secret=secrets.token_urlsafe(32), created_by=actor.user,
                                       created_by_label=actor.label)
    record_audit(actor, "source.create", target_type="shop_source", target_id=source.pk,
                 summary=f"{kind} {name}")
    return source


@transaction.atomic
def do_set_source_active(actor: Actor, source: ShopSource, active: bool) -> None:
    require(actor, "sources.manage")
    if source.active != active:
        source.active = active
        source.save(update_fields=["active"])
        record_audit(actor, "source.activate" if active else "source.deactivate",
                     target_type="shop_source", target_id=source.pk, summary=source.name)


@transaction.atomic
def retry_delivery(actor: Actor, delivery: WebhookDelivery) -> bool:
    """Process a failed (or stuck) delivery again once this commits; False if it was done."""
    require(actor, "sources.manage")
    from peyvand.commerce.tasks import process_delivery_task

    if delivery.status == WebhookDelivery.Status.PROCESSED:
        return False
    pk = delivery.pk
    enqueue_on_commit(process_delivery_task, pk)
    return True
