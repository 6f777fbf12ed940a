"""Who a broadcast goes to: an audience spec resolved through kinds registered here.

A spec names ids by kind, to include and to exclude:
    {"segments": [3, 4], "exclude_segments": [7], "exclude_tags": [2], "contacts": [..]}
Messaging owns the kinds it can resolve itself ("tag", "contact"); floors above register
theirs from their AppConfig.ready (audiences registers "segment"), so messaging never imports
them. A broadcast to one tag without exclusions keeps the older form (Broadcast.tag).

`refusal_preview` says, before anything is approved or sent, how many of an audience the
OutboundGate would refuse and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from peyvand.base.errors import Invalid
from peyvand.contacts.models import Contact, ContactTag, Identity, Tag
from peyvand.messaging import consent_port

# resolve(ids) -> a query of contact ids (values("pk") or values("contact_id")); raises
# Invalid naming what does not exist. describe(ids) -> their names, for people.
Resolve = Callable[[list[int]], QuerySet]
Describe = Callable[[list[int]], list[str]]
# choices() -> [(id, name)] a form offers.
Choices = Callable[[], list[tuple[int, str]]]

# How many contacts the refusal preview asks consent about; beyond it, the rest is estimated.
PREVIEW_CAP = 20000
_CHUNK = 2000
# A list of contacts (checkboxes, a search) is kept in the broadcast itself: bounded.
MAX_CONTACT_IDS = 50000


@dataclass(frozen=True)
class AudienceKind:
    name: str
    resolve: Resolve
    describe: Describe
    choices: Choices | None = None


_KINDS: dict[str, AudienceKind] = {}


def register_audience_kind(name: str, resolve: Resolve, describe: Describe,
                           choices: Choices | None = None) -> None:
    """Make `{name}s` and `exclude_{name}s` usable in an audience (idempotent by name)."""
    _KINDS[name] = AudienceKind(name, resolve, describe, choices)


def kinds() -> list[str]:
    return sorted(_KINDS)


def choices_of(kind: str) -> list[tuple[int, str]]:
    """What a form offers for a kind ([] when the kind is not registered)."""
    found = _KINDS.get(kind)
    return found.choices() if found and found.choices else []


def audience_from_input(*, segments: Any = (), exclude_segments: Any = (),
                        exclude_tags: Any = (), tags: Any = ()) -> dict[str, Any]:
    """An audience spec from what a form, the API or the CLI gave: segment ids, tag names
    (or ids). Empty parts are left out; check_audience checks the rest."""
    def tag_ids(values: Any) -> list[Any]:
        out = []
        for value in values or ():
            found = Tag.objects.named(str(value)).values_list("pk", flat=True).first()
            if found is None:
                if not str(value).isdigit():
                    raise Invalid({"tags": _("There is no tag named “%(name)s”.")
                                   % {"name": value}})
                found = int(value)
            out.append(found)
        return out

    raw = {"segments": list(segments or ()), "exclude_segments": list(exclude_segments or ()),
           "tags": tag_ids(tags), "exclude_tags": tag_ids(exclude_tags)}
    return {k: v for k, v in raw.items() if v}


def _tags(ids: list[int]) -> QuerySet:
    missing = set(ids) - set(Tag.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if missing:
        raise Invalid({"tags": _("There is no tag #%(id)s.") % {"id": min(missing)}})
    return ContactTag.objects.filter(tag_id__in=ids).values("contact_id")


def _tag_names(ids: list[int]) -> list[str]:
    names = dict(Tag.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [names.get(i, f"#{i}") for i in ids]


def _contacts(ids: list[int]) -> QuerySet:
    return Contact.objects.filter(pk__in=ids).values("pk")


def _contact_count(ids: list[int]) -> list[str]:
    return [_("%(count)d chosen contacts") % {"count": len(ids)}]


register_audience_kind("tag", _tags, _tag_names,
                       lambda: list(Tag.objects.order_by("name").values_list("pk", "name")))
register_audience_kind("contact", _contacts, _contact_count)


def _keys(kind: str) -> tuple[str, str]:
    return f"{kind}s", f"exclude_{kind}s"


def check_audience(raw: Any) -> dict[str, list[int]]:
    """The spec cleaned (known kinds, lists of ids, something to include), or Invalid."""
    if not isinstance(raw, dict):
        raise Invalid({"audience": _("An audience is an object such as "
                                     "{\"segments\": [1], \"exclude_tags\": [2]}.")})
    known = {key: kind for kind in _KINDS for key in _keys(kind)}
    clean: dict[str, list[int]] = {}
    for key, value in raw.items():
        if key not in known:
            raise Invalid({"audience": _("Unknown audience part “%(key)s”; use %(keys)s.")
                           % {"key": key, "keys": ", ".join(sorted(known))}})
        values = value if isinstance(value, list) else [value]
        try:
            ids = list(dict.fromkeys(int(v) for v in values if v not in (None, "")))
        except (TypeError, ValueError):
            raise Invalid({"audience": _("%(key)s takes a list of ids.") % {"key": key}})
        if ids:
            clean[key] = ids
    if not any(key in clean for kind in _KINDS for key in _keys(kind)[:1]):
        raise Invalid({"audience": _("Choose whom to send to: a segment or a tag.")})
    if len(clean.get("contacts", [])) > MAX_CONTACT_IDS:
        raise Invalid({"audience": _("At most %(n)d contacts can be chosen one by one; save "
                                     "them as a segment instead.") % {"n": MAX_CONTACT_IDS}})
    for key, ids in clean.items():
        _KINDS[known[key]].resolve(ids)  # refuses ids that name nothing
    return clean


def audience_members(spec: dict[str, Any]) -> QuerySet:
    """The live contacts of the audience now: one query, however many parts it has."""
    include, exclude = Q(pk__in=[]), Q(pk__in=[])
    for kind in _KINDS.values():
        plus, minus = _keys(kind.name)
        if spec.get(plus):
            include |= Q(pk__in=kind.resolve(list(spec[plus])))
        if spec.get(minus):
            exclude |= Q(pk__in=kind.resolve(list(spec[minus])))
    return Contact.objects.live().filter(include).exclude(exclude)


def describe_audience(spec: dict[str, Any]) -> dict[str, list[str]]:
    """{"segments": [names], "exclude_tags": [names], …} for pages and the API."""
    out: dict[str, list[str]] = {}
    for side in (0, 1):  # who is in, then who is left out
        for kind in _KINDS.values():
            key = _keys(kind.name)[side]
            if spec.get(key):
                out[key] = kind.describe(list(spec[key]))
    return out


def audience_label(spec: dict[str, Any]) -> str:
    """One line: "Segments: A, B — except tags: C"."""
    labels = {"segments": _("Segments"), "tags": _("Tags"), "contacts": _("Contacts"),
              "exclude_segments": _("except segments"), "exclude_tags": _("except tags"),
              "exclude_contacts": _("except contacts")}
    parts = [f"{labels.get(key, key)}: {', '.join(names)}"
             for key, names in describe_audience(spec).items()]
    return " — ".join(parts)


def address_kind(channel: str) -> str:
    """The identity kind that is an address on `channel`."""
    return Identity.Kind.EMAIL if channel == "email" else Identity.Kind.PHONE


def with_addresses(members: QuerySet, channel: str) -> QuerySet:
    """(contact id, address or None) of each member, ordered by id: the primary (else the
    oldest) address on the channel, in the one query that is the broadcast's snapshot."""
    first = (Identity.objects.filter(contact_id=OuterRef("pk"), kind=address_kind(channel))
             .order_by("-is_primary", "id").values("value")[:1])
    return (members.order_by("pk").annotate(address=Subquery(first))
            .values_list("pk", "address"))


def refusal_preview(members: QuerySet, channel: str, topic: str | None) -> dict[str, Any]:
    """How many of `members` a marketing message on `channel` reaches, and how many the gate
    refuses, grouped by reason: no address (SQL), and consent's answer (asked in batches, as
    the sender asks it). The contact strategy only delays messages, so it refuses nobody.
    Beyond PREVIEW_CAP people the consent part is extrapolated (`estimate`)."""
    from peyvand.messaging.gate import REASON_TEXT, consent_topic

    total = members.count()
    addressed = members.filter(identities__kind=address_kind(channel)).distinct()
    reachable = addressed.count()
    reasons: Counter[str] = Counter()
    if total - reachable:
        reasons["no_address"] = total - reachable
    asked_topic = consent_topic(topic, "marketing")
    evaluated, batch = 0, []
    ids = addressed.order_by("pk").values_list("pk", flat=True)[:PREVIEW_CAP]

    def ask(chunk: list[int]) -> None:
        answers = consent_port.consent_decisions(chunk, channel, asked_topic,
                                                 message_class="marketing")
        reasons.update(d.reason for d in answers.values() if not d.allowed)

    for contact_id in ids.iterator(chunk_size=_CHUNK):
        batch.append(contact_id)
        evaluated += 1
        if len(batch) >= _CHUNK:
            ask(batch)
            batch = []
    if batch:
        ask(batch)
    estimate = evaluated < reachable
    if estimate and evaluated:
        scale = reachable / evaluated
        reasons = Counter({k: v if k == "no_address" else round(v * scale)
                           for k, v in reasons.items()})
    refused = sum(reasons.values())
    return {"count": total, "reachable": reachable, "refused": refused,
            "will_send": max(0, total - refused), "estimate": estimate,
            "evaluated": evaluated,
            "reasons": [{"reason": code, "count": n, "text": str(REASON_TEXT.get(code, code))}
                        for code, n in reasons.most_common()]}
