"""The exit conditions checked before every step, for a whole round of enrolments at once:
erased, consent withdrawn for a send step, the goal reached, an order since a cart was
abandoned, the trigger's segment left."""

from __future__ import annotations

from typing import Any

from peyvand.journeys.models import Enrolment
from peyvand.journeys.steps import Context, matching_ids, rule_key


def exit_reasons(items: list[Enrolment], ctx: Context) -> dict[int, tuple[str, str]]:
    """{enrolment id: (state, reason)} for the enrolments that must end before their next
    step: erased, consent withdrawn for a send step's channel, the goal reached, an order
    since a cart_abandoned entry, the trigger's segment left (in that order). A fixed
    number of queries per distinct channel and topic, goal and segment, whatever the number
    of enrolments."""
    from peyvand.audiences.models import SegmentMember
    from peyvand.contacts.models import Contact

    contacts = list({item.contact_id for item in items})
    alive = set(Contact.objects.filter(pk__in=contacts, erased_at__isnull=True)
                .values_list("pk", flat=True))
    refused = _refusals([i for i in items if i.contact_id in alive], ctx)
    goals: dict[str, tuple[Any, list[int]]] = {}
    segments: dict[Any, list[int]] = {}
    for item in items:
        definition = ctx.version(item.version_id).definition
        if definition.get("goal") is not None:
            goals.setdefault(rule_key(definition["goal"]), (definition["goal"], []))[1].append(
                item.contact_id)
        trigger = definition.get("trigger", {})
        if trigger.get("type") == "segment_entered":
            segments.setdefault(trigger.get("segment"), []).append(item.contact_id)
    reached = {key: matching_ids(rule, ids) for key, (rule, ids) in goals.items()}
    ordered = ordered_since([i for i in items if ctx.version(i.version_id).definition.get(
        "trigger", {}).get("type") == "cart_abandoned"])
    members = {segment: set(SegmentMember.objects.filter(
        segment_id=segment, contact_id__in=ids).values_list("contact_id", flat=True))
        for segment, ids in segments.items()}
    out: dict[int, tuple[str, str]] = {}
    for item in items:
        definition = ctx.version(item.version_id).definition
        trigger = definition.get("trigger", {})
        if item.contact_id not in alive:
            out[item.pk] = Enrolment.State.EXITED, "erased"
        elif item.pk in refused:
            out[item.pk] = Enrolment.State.EXITED, f"consent:{refused[item.pk]}"[:32]
        elif definition.get("goal") is not None \
                and item.contact_id in reached[rule_key(definition["goal"])]:
            out[item.pk] = Enrolment.State.DONE, "goal"
        elif item.pk in ordered:
            out[item.pk] = Enrolment.State.DONE, "ordered"
        elif trigger.get("type") == "segment_entered" \
                and item.contact_id not in members[trigger.get("segment")]:
            out[item.pk] = Enrolment.State.EXITED, "left_segment"
    return out


def ordered_since(items: list[Enrolment]) -> set[int]:
    """The cart_abandoned enrolments whose purpose is met: the contact placed an order since
    entering, or the cart kept in their data was converted. Two queries for any number."""
    if not items:
        return set()
    from django.db.models import Max

    from peyvand.commerce.models import Cart, Order

    last = dict(Order.objects.filter(
        contact_id__in={i.contact_id for i in items}, deleted_at__isnull=True,
        placed_at__gte=min(i.entered_at for i in items)).values("contact_id")
        .annotate(at=Max("placed_at")).values_list("contact_id", "at"))
    carts = set(Cart.objects.filter(
        pk__in={i.data["cart"] for i in items if i.data.get("cart")},
        status=Cart.Status.CONVERTED).values_list("pk", flat=True))
    return {i.pk for i in items if (i.contact_id in last and last[i.contact_id] >= i.entered_at)
            or i.data.get("cart") in carts}


def _refusals(items: list[Enrolment], ctx: Context) -> dict[int, str]:
    """{enrolment id: reason} for the enrolments whose contact's consent no longer allows
    the journey to reach them: at a send step, the snapshot's channel and topic refused for
    any reason; at any other step, every channel the version's send steps use withdrawn
    (unsubscribed, suppressed, the topic retired). One batch question to the consent
    port per distinct (channel, topic), as the sender asks."""
    from peyvand.messaging import consent_port
    from peyvand.messaging.gate import consent_topic

    def key_of(snapshot_id: int) -> tuple[str, Any]:
        snapshot = ctx.snapshot(snapshot_id)
        return snapshot.channel, consent_topic(snapshot.topic, "marketing")

    needs: dict[int, tuple[bool, set[tuple[str, Any]]]] = {}  # pk: (at a send, keys)
    asked: dict[tuple[str, Any], list[Enrolment]] = {}
    channels: dict[int, set[tuple[str, Any]]] = {}  # a version's send channels and topics
    for item in items:
        version = ctx.version(item.version_id)
        step = version.definition["steps"].get(item.node, {})
        if step.get("type") == "send" and item.state == Enrolment.State.ACTIVE:
            keys = {key_of(version.snapshots[item.node])}
            needs[item.pk] = (True, keys)
        else:
            if version.pk not in channels:
                channels[version.pk] = {key_of(pk) for pk in version.snapshots.values()}
            keys = channels[version.pk]
            if not keys:
                continue
            needs[item.pk] = (False, keys)
        for key in keys:
            asked.setdefault(key, []).append(item)
    answers = {key: consent_port.consent_decisions([i.contact_id for i in group], key[0],
                                                   key[1], message_class="marketing")
               for key, group in asked.items()}
    out: dict[int, str] = {}
    for item in items:
        if item.pk not in needs:
            continue
        at_send, keys = needs[item.pk]
        refusals = [answers[key][item.contact_id] for key in sorted(keys, key=str)]
        if at_send:
            if not refusals[0].allowed:
                out[item.pk] = refusals[0].reason
        elif all(r.withdrawn for r in refusals):  # a mere "not yet" waits for the send
            out[item.pk] = refusals[0].reason
    return out
