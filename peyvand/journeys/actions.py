"""Writing journeys: drafts, publishing (the draft frozen as the next version, its words
frozen with it), pausing, enrolling people (re-entry and max_active enforced here), moving
waiting people to a newer version when the owner asks, and making a journey from a recipe."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.audit import record_audit
from peyvand.base.errors import Invalid
from peyvand.base.normalise.text import normalise_text
from peyvand.base.roles import require
from peyvand.contacts.models import Contact
from peyvand.journeys.definition import check_definition, send_steps
from peyvand.journeys.models import Enrolment, Journey, JourneyVersion
from peyvand.journeys.timeline import entered

E = Enrolment.State
RUNNING = (E.ACTIVE, E.WAITING)
MAX_ENROL = 10000  # contacts per enrol call (the API, the CLI)


class JourneyInvalid(Invalid):
    pass


def _settings(raw: dict[str, Any], journey: Journey) -> None:
    if "name" in raw:
        name = str(raw["name"] or "").strip()
        if not name or len(name) > 200:
            raise JourneyInvalid({"name": _("Give the journey a name (at most 200 "
                                            "characters).")})
        journey.name = name
    if "re_entry" in raw:
        if raw["re_entry"] not in Journey.ReEntry.values:
            raise JourneyInvalid({"re_entry": _("Re-entry is never, after_days or always.")})
        journey.re_entry = raw["re_entry"]
    for key in ("re_entry_days", "max_active"):
        if key in raw:
            value = raw[key]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10**6:
                raise JourneyInvalid({key: _("Give a whole number, 0 or more.")})
            setattr(journey, key, value)
    if journey.re_entry == Journey.ReEntry.AFTER_DAYS and journey.re_entry_days < 1:
        raise JourneyInvalid({"re_entry_days": _("Say after how many days a person may "
                                                 "enter again.")})
    if "definition" in raw:
        journey.definition = check_definition(raw["definition"]) if raw["definition"] else {}


@transaction.atomic
def do_save_journey(actor: Actor, raw: dict[str, Any], journey: Journey | None = None) \
        -> Journey:
    """Create a draft journey, or change what `raw` gives of one (the draft definition;
    running people stay on the version they started on)."""
    require(actor, "journeys.edit")
    creating = journey is None
    if journey is None:
        journey = Journey(created_by=actor.label)
        if "name" not in raw:
            raw = {**raw, "name": ""}
    _settings(raw, journey)
    journey.updated_by = actor.label
    journey.save()
    record_audit(actor, "journeys.created" if creating else "journeys.changed",
                 target_type="journey", target_id=journey.pk, summary=journey.name)
    return journey


def latest_version(journey: Journey) -> JourneyVersion | None:
    return journey.versions.order_by("-number").first()


@transaction.atomic
def do_publish(actor: Actor, journey: Journey) -> JourneyVersion:
    """The draft becomes the next version (unless it is the latest already) and the journey
    goes live; each send step's words are frozen now, once for this version."""
    require(actor, "journeys.publish")
    from peyvand.messaging.content import freeze
    from peyvand.messaging.models import MessageTemplate

    if not journey.definition:
        raise JourneyInvalid({"definition": _("Write the journey's steps before publishing "
                                              "it.")})
    definition = check_definition(journey.definition)
    names = send_steps(definition)
    templates = {t.name: t for t in MessageTemplate.objects.filter(name__in=names.values())}
    snapshots = {node: freeze(templates[name]).pk for node, name in names.items()}
    latest = latest_version(journey)
    if latest is None or (latest.definition, latest.snapshots) != (definition, snapshots):
        latest = JourneyVersion.objects.create(
            journey=journey, number=(latest.number + 1) if latest else 1, definition=definition,
            snapshots=snapshots, published_at=timezone.now(), published_by=actor.label)
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.LIVE,
                                                 updated_by=actor.label)
    journey.status = Journey.Status.LIVE
    record_audit(actor, "journeys.published", target_type="journey", target_id=journey.pk,
                 summary=f"{journey.name} v{latest.number}")
    return latest


@transaction.atomic
def do_pause(actor: Actor, journey: Journey) -> Journey:
    """No one enters and no step runs until it is published again (timers keep their time)."""
    require(actor, "journeys.publish")
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.PAUSED,
                                                 updated_by=actor.label)
    journey.status = Journey.Status.PAUSED
    record_audit(actor, "journeys.paused", target_type="journey", target_id=journey.pk,
                 summary=journey.name)
    return journey


def enrol(journey: Journey, contact_id: int, source: str, *,
          now: dt.datetime | None = None, data: dict[str, Any] | None = None) \
        -> tuple[Enrolment | None, str]:
    """Start the contact on the journey's latest version, due now: (enrolment, "ok"), or
    (None, why not): not_live, no_contact, already_in, no_re_entry, too_soon, full. `data`
    is kept in the enrolment's data (a trigger's own facts: the abandoned cart)."""
    if journey.status != Journey.Status.LIVE:
        return None, "not_live"
    version = latest_version(journey)
    if version is None:
        return None, "not_live"
    if not Contact.objects.live().filter(pk=contact_id).exists():
        return None, "no_contact"
    now = now or timezone.now()
    with transaction.atomic():
        last = (Enrolment.objects.filter(journey=journey, contact_id=contact_id)
                .order_by("-rotation").values("rotation", "state", "entered_at").first())
        if last is not None:
            if last["state"] in RUNNING:
                return None, "already_in"
            if journey.re_entry == Journey.ReEntry.NEVER:
                return None, "no_re_entry"
            if journey.re_entry == Journey.ReEntry.AFTER_DAYS and \
                    last["entered_at"] > now - dt.timedelta(days=journey.re_entry_days):
                return None, "too_soon"
        if journey.max_active and Enrolment.objects.filter(
                journey=journey, state__in=RUNNING).count() >= journey.max_active:
            return None, "full"
        start = version.definition["start"]
        try:
            with transaction.atomic():
                item = Enrolment.objects.create(
                    journey=journey, version=version, contact_id=contact_id,
                    rotation=(last["rotation"] + 1) if last else 1, node=start,
                    next_run_at=now, entered_at=now,
                    data={**(data or {}), "source": source[:100], "visits": {start: 1}})
            entered(item, journey.name)
        except IntegrityError:  # the same contact entered at the same moment elsewhere
            return None, "already_in"
    return item, "ok"


def do_enrol(actor: Actor, journey: Journey, contact_ids: list[int], *,
             source: str = "manual") -> dict[str, Any]:
    """Enrol these contacts (manual, bulk or an API call): how many entered, and how many
    were refused for each reason."""
    require(actor, "journeys.edit")
    if journey.status != Journey.Status.LIVE:
        raise JourneyInvalid({"journey": _("Only a live journey takes people: publish it "
                                           "first.")}, status=409)
    ids = list(dict.fromkeys(int(c) for c in contact_ids))
    if not ids or len(ids) > MAX_ENROL:
        raise JourneyInvalid({"contacts": _("Give 1 to 10,000 contact numbers.")})
    refused: Counter[str] = Counter()
    entered = 0
    for contact_id in ids:
        if not 0 < contact_id < 2**63:  # no such row, and no database could look it up
            refused["no_contact"] += 1
            continue
        item, reason = enrol(journey, contact_id, f"{source}:{actor.label}")
        if item is None:
            refused[reason] += 1
        else:
            entered += 1
    record_audit(actor, "journeys.enrolled", target_type="journey", target_id=journey.pk,
                 summary=f"{entered} of {len(ids)}", details={"refused": dict(refused)})
    return {"enrolled": entered, "refused": dict(refused)}


def version_of(journey: Journey, number: int | None = None) -> JourneyVersion:
    """The journey's version `number` (the latest when None); refused when there is none."""
    versions = journey.versions.order_by("-number")
    found = (versions if number is None else versions.filter(number=number)).first()
    if found is None:
        if number is None:
            raise JourneyInvalid({"version": _("The journey has no published version "
                                               "yet.")}, status=409)
        raise JourneyInvalid({"version": _("The journey has no version %(number)s.")
                              % {"number": number}})
    return found


@transaction.atomic
def do_move_waiting(actor: Actor, journey: Journey, to_version: JourneyVersion) -> int:
    """Move the people still running on older versions to `to_version`, each at the step it
    is at: refused (naming the step) when the new version lacks one of those steps, or when
    someone waits for an event at a step that is no longer such a wait."""
    require(actor, "journeys.publish")
    if to_version.journey_id != journey.pk:
        raise JourneyInvalid({"version": _("That version is of another journey.")})
    running = Enrolment.objects.filter(journey=journey, state__in=RUNNING).exclude(
        version=to_version)
    steps = to_version.definition["steps"]
    # Locked while checked and moved (PostgreSQL refuses FOR UPDATE with DISTINCT).
    for node, state in sorted(set(running.select_for_update().values_list("node", "state"))):
        if node not in steps:
            raise JourneyInvalid({"version": _("People are at step “%(node)s”, which version "
                                               "%(number)s does not have.")
                                  % {"node": node, "number": to_version.number}}, status=409)
        if state == E.WAITING and steps[node]["type"] != "wait_event":
            raise JourneyInvalid({"version": _("People wait for an event at step "
                                               "“%(node)s”, which is no longer such a wait "
                                               "in version %(number)s.")
                                  % {"node": node, "number": to_version.number}}, status=409)
    moved = running.update(version=to_version)
    record_audit(actor, "journeys.moved", target_type="journey", target_id=journey.pk,
                 summary=f"{moved} → v{to_version.number}")
    return moved


@dataclass
class RecipeUsed:
    """What do_use_recipe made: the journey, its templates and the segment (or None)."""

    journey: Journey
    templates: list[Any]
    segment: Any


def _free_name(model: Any, base: str, limit: int) -> str:
    """`base` (normalised as names are saved), or with " (2)", " (3)" … when taken."""
    base = normalise_text(base)[:limit]
    name, n = base, 1
    while model.objects.filter(name=name).exists():
        n += 1
        suffix = f" ({n})"
        name = base[:limit - len(suffix)] + suffix
    return name


@transaction.atomic
def do_use_recipe(actor: Actor, recipe_id: Any, language: Any, *,
                  publish: bool) -> RecipeUsed:
    """Make a recipe's templates (in `language`), its segment if it needs one and its
    journey, a draft; live at once when `publish` (the owner's journeys.publish)."""
    from peyvand.audiences.actions import do_create_segment
    from peyvand.audiences.models import Segment
    from peyvand.journeys.recipe_content import CONTENT, SEGMENTS
    from peyvand.journeys.recipes import BY_ID, LANGUAGES, SILENT_YEAR_RULES
    from peyvand.messaging.actions import do_save_template
    from peyvand.messaging.models import MessageClass, MessageTemplate

    require(actor, "journeys.edit")
    if publish:
        require(actor, "journeys.publish")
    recipe = BY_ID.get(recipe_id) if isinstance(recipe_id, str) else None
    if recipe is None:
        raise JourneyInvalid({"recipe": _("There is no such recipe.")})
    if language not in LANGUAGES:
        raise JourneyInvalid({"language": _("Choose Persian (fa) or English (en).")})
    names: dict[str, str] = {}
    made = []
    for key in recipe.templates:
        content = CONTENT[key]
        template = do_save_template(actor, {
            **content[language], "language": language, "channel": content["channel"],
            "message_class": MessageClass.MARKETING,
            "name": _free_name(MessageTemplate, content["name"][language], 100)})
        names[key] = template.name
        made.append(template)
    segment = None
    if recipe.segment:
        segment = do_create_segment(
            actor, _free_name(Segment, SEGMENTS[recipe.segment][language], 100),
            SILENT_YEAR_RULES, description=str(recipe.when)[:300])
    with translation.override(language):
        title = str(recipe.name)
    journey = do_save_journey(actor, {
        "name": _free_name(Journey, title, 200), "re_entry": recipe.re_entry,
        "re_entry_days": recipe.re_entry_days,
        "definition": recipe.build(names, language, segment.pk if segment else None)})
    if publish:
        do_publish(actor, journey)
    record_audit(actor, "journeys.recipe_used", target_type="journey", target_id=journey.pk,
                 summary=f"{recipe.id} ({language})",
                 details={"templates": [t.pk for t in made], "published": publish,
                          "segment": segment.pk if segment else None})
    return RecipeUsed(journey, made, segment)
