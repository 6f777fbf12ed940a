"""Triggers and wake-ups: what the floors below tell journeys through their hooks (registered
in apps.py). Each runs after the change below has committed; a failure is logged by the
caller and never undoes it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator

from django.db.models import Q, QuerySet
from django.utils import timezone

from peyvand.contacts.models import Contact
from peyvand.journeys.actions import RUNNING, enrol, latest_version
from peyvand.journeys.models import Enrolment, Journey
from peyvand.journeys.runner import wake

log = logging.getLogger("peyvand.journeys")


def live_with_trigger(*kinds: str) -> Iterator[tuple[Journey, dict]]:
    """(journey, its latest version's trigger) of each live journey triggered so."""
    for journey in Journey.objects.filter(status=Journey.Status.LIVE):
        version = latest_version(journey)
        trigger = version.definition.get("trigger", {}) if version else {}
        if trigger.get("type") in kinds:
            yield journey, trigger


def _enrol_all(journey: Journey, contact_ids: Iterable[int], source: str, *,
               now: dt.datetime | None = None) -> int:
    entered = 0
    for contact_id in contact_ids:
        item, _reason = enrol(journey, contact_id, source, now=now)
        entered += item is not None
    return entered


def on_segment_changed(segment_id: int, entered: list[int], left: list[int],
                       at: dt.datetime) -> None:
    """audiences' SEGMENT_CHANGED_HOOKS: people who entered or left a segment start the
    journeys triggered by it (those who left one a segment_entered journey runs on are
    exited before their next step: steps.exit_reason)."""
    for journey, trigger in live_with_trigger("segment_entered", "segment_left"):
        if trigger.get("segment") != segment_id:
            continue
        people = entered if trigger["type"] == "segment_entered" else left
        _enrol_all(journey, people, f"{trigger['type']}:{segment_id}")


def _orders_of(contact_id: int) -> list[int]:
    from peyvand.commerce.models import Order

    return list(Order.objects.filter(contact_id=contact_id, deleted_at__isnull=True)
                .order_by("placed_at", "id").values_list("pk", flat=True))


def on_order_changed(contact_id: int) -> None:
    """commerce's ORDER_CHANGED_HOOKS: an order of this contact was made or changed. It
    wakes the enrolments waiting for an order, and starts the order / first-order /
    order-of-a-product journeys once per order (an order changing again starts nothing
    new). The hook does not say which order changed: the contact's latest order is taken."""
    wake(contact_id, "ordered")
    orders = None
    for journey, trigger in live_with_trigger("order", "first_order", "order_product"):
        if orders is None:
            orders = _orders_of(contact_id)
        if not orders or (trigger["type"] == "first_order" and len(orders) != 1):
            continue
        if trigger["type"] == "order_product" and not _has_sku(orders[-1], trigger["sku"]):
            continue
        kind = "order_product" if trigger["type"] == "order_product" else "order"
        source = f"{kind}:{orders[-1]}"
        seen = Enrolment.objects.filter(journey=journey, contact_id=contact_id).filter(
            Q(data__source=source))
        if not seen.exists():
            enrol(journey, contact_id, source)


def _has_sku(order_id: int, sku: str) -> bool:
    from peyvand.commerce.models import OrderLine

    return OrderLine.objects.filter(order_id=order_id, sku=sku).exists()


def on_tag_added(contact_ids: list[int], tag_id: int) -> None:
    """contacts' TAG_ADDED_HOOKS: people who got a tag start the journeys triggered by it
    (re-entry and max_active apply)."""
    from peyvand.base.normalise import normalise_text
    from peyvand.contacts.models import Tag

    name = None
    for journey, trigger in live_with_trigger("tag_added"):
        if name is None:
            name = Tag.objects.filter(pk=tag_id).values_list("name", flat=True).first() or ""
        if name and normalise_text(str(trigger.get("tag", ""))) == name:
            _enrol_all(journey, contact_ids, f"tag_added:{name}")


def on_signup_confirmed(contact_id: int, channel: str, topic_key: str | None) -> None:
    """consent's SIGNUP_CONFIRMED_HOOKS: a sign-up was confirmed on a channel (and topic).
    A journey naming a topic takes only that topic's confirmations; one naming none takes
    any (a sign-up confirming a channel and its topics at once enters it once: already_in);
    a `channel` narrows either."""
    for journey, trigger in live_with_trigger("signup_confirmed"):
        if trigger.get("topic") not in (None, topic_key):
            continue
        if trigger.get("channel") not in (None, channel):
            continue
        enrol(journey, contact_id, f"signup_confirmed:{channel}:{topic_key or ''}")


def on_cart_abandoned(contact_id: int, cart_id: int) -> None:
    """commerce's CART_ABANDONED_HOOKS: the contact left a cart; the cart's id is kept in
    the enrolment's data ("cart"), and an order since ends the run (exits.exit_reasons)."""
    for journey, _trigger in live_with_trigger("cart_abandoned"):
        enrol(journey, contact_id, f"cart_abandoned:{cart_id}", data={"cart": cart_id})


DAILY = dt.timedelta(days=1)


DAILY_KINDS = ("forgotten", "date", "overdue", "p_alive_below")


def _daily_people(trigger: dict, now: dt.datetime) -> tuple[QuerySet[Contact], str]:
    """The people a daily trigger finds today, and the enrolments' source."""
    if trigger["type"] == "forgotten":
        from peyvand.journeys.forgotten import forgotten

        return forgotten(int(trigger["days"]), now=now), f"forgotten:{trigger['days']}"
    from peyvand.journeys.daily import date_people

    today = timezone.localdate(now)
    return date_people(trigger, today), f"date:{trigger['field']}:{today.isoformat()}"


def enrol_daily(now: dt.datetime | None = None, kinds: tuple[str, ...] = DAILY_KINDS) \
        -> dict[int, int]:
    """The daily triggers, from the journeys tick: once a day per live journey, enrol the
    people its trigger finds (forgotten.py, daily.py) who are not in it now (re-entry and
    max_active apply, as for any entry). Taking the day is a compare-and-set on
    `checked_at`, so two ticks at once do it once. Returns {journey id: people enrolled}."""
    now = now or timezone.now()
    done: dict[int, int] = {}
    for journey, trigger in live_with_trigger(*kinds):
        last = journey.checked_at
        if last is not None and last > now - DAILY:
            continue
        if not Journey.objects.filter(pk=journey.pk, checked_at=last).update(checked_at=now):
            continue  # another tick took this day
        if trigger["type"] in ("overdue", "p_alive_below"):
            done[journey.pk] = _enrol_occasions(journey, trigger, now)
            continue
        people, source = _daily_people(trigger, now)
        running = Enrolment.objects.filter(journey=journey, state__in=RUNNING)
        found = list(people.exclude(pk__in=running.values("contact_id"))
                     .values_list("pk", flat=True))
        done[journey.pk] = _enrol_all(journey, found, source, now=now)
    return done


def _enrol_occasions(journey: Journey, trigger: dict, now: dt.datetime) -> int:
    """Enrol the people of a metrics trigger (daily.metrics_people) not yet enrolled for
    the same occasion (source) and not in the journey now."""
    from peyvand.journeys.daily import metrics_people

    found = metrics_people(trigger)
    had = set(Enrolment.objects.filter(journey=journey).values_list("contact_id",
                                                                     "data__source")
              .iterator()) if found else set()
    entered = 0
    for pk, source in found:
        if (pk, source) not in had:
            item, _reason = enrol(journey, pk, source, now=now)
            entered += item is not None
    return entered


def enrol_forgotten(now: dt.datetime | None = None) -> dict[int, int]:
    """The `forgotten` trigger alone (enrol_daily)."""
    return enrol_daily(now, ("forgotten",))


def on_tracking_event(contact_id: int, kind: str, message_id: int, machine: bool) -> None:
    """tracking's EVENT_HOOKS: a person opened or clicked a message."""
    if not machine:
        wake(contact_id, kind, message_id)


def on_inbound_reply(contact_id: int, channel: str, length: int) -> None:
    """consent's INBOUND_REPLY_HOOKS: the person answered (an SMS that is no keyword); the
    enrolments waiting for a reply go on. Only the length comes here, never the words."""
    wake(contact_id, "replied")
