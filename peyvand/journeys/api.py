"""REST API for journeys: drafts (POST/PATCH, the definition as documented JSON in
docs/subsystems/journeys.md), publish, pause, enrol, move running people to a version, the
per-step report, and the journeys of one contact. Thin: role checks first, then
journeys.actions / queries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from peyvand.api_common import (
    ERRORS,
    WHOLE,
    Body,
    ErrorOut,
    Paging,
    Status,
    api_actor,
    page_of,
)
from peyvand.base.roles import require
from peyvand.journeys import actions, queries

router = Router(tags=["journeys"])


class JourneyIn(Body):
    name: str
    re_entry: str = Field("never", description="never | after_days | always")
    re_entry_days: Annotated[int, Field(ge=0, le=10**6), WHOLE] = 0
    max_active: Annotated[int, Field(ge=0, le=10**6), WHOLE] = Field(
        0, description="most people in it at once (0: no limit)")
    definition: dict[str, Any] = Field(default_factory=dict,
                                       description="trigger, start, steps, goal "
                                                   "(docs/subsystems/journeys.md)")


class JourneyPatch(Body):
    name: str | None = None
    re_entry: str | None = None
    re_entry_days: Annotated[int, Field(ge=0, le=10**6), WHOLE] | None = None
    max_active: Annotated[int, Field(ge=0, le=10**6), WHOLE] | None = None
    definition: dict[str, Any] | None = None


class JourneyOut(Schema):
    id: int
    name: str
    status: str
    re_entry: str
    re_entry_days: int
    max_active: int
    definition: dict[str, Any]
    version: int | None = Field(description="the latest published version")
    published_at: dt.datetime | None
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str


class JourneyPage(Schema):
    items: list[JourneyOut]
    count: int
    page: int
    page_size: int


class JourneyEnrolIn(Body):
    contacts: list[int] = Field(description="contact numbers (at most 10,000)")


class JourneyEnrolOut(Schema):
    enrolled: int
    refused: dict[str, int] = Field(description="by reason: already_in, no_re_entry, "
                                                "too_soon, full, no_contact")


class JourneyMoveIn(Body):
    version: Annotated[int, Field(ge=1, le=10**6), WHOLE] | None = Field(
        None, description="the version number to move people to (default: the latest)")


class JourneyMoveOut(Schema):
    moved: int = Field(description="running people moved from older versions")
    version: int


class JourneyStepCount(Schema):
    node: str
    waiting: int = Field(description="people at this step now (a timer or an event)")
    done: int = Field(description="runs of this step finished")
    exited: int = Field(description="people who left the journey here")


class JourneyGoalArm(Schema):
    arm: str | None = Field(None, description="the split's arm (a or b); absent overall")
    people: int = Field(description="enrolments")
    converted: int = Field(description="of them, reached the goal (left on reaching it, or "
                                       "meet it now)")
    rate: float | None = Field(description="converted / people (null: no one)")


class JourneyGoalReport(Schema):
    goal: dict[str, Any] = Field(description="the latest version's goal rule")
    split: str | None = Field(description="the split step compared (null: none, so no "
                                          "holdout)")
    overall: JourneyGoalArm
    journey: JourneyGoalArm | None = Field(description="the arm that goes on in the journey")
    holdout: JourneyGoalArm | None = Field(description="the arm that sends nothing")
    difference: float | None = Field(None, description="journey rate − holdout rate")
    low: float | None = Field(None, description="95% interval of the difference, low end "
                                                "(two proportions, normal approximation)")
    high: float | None = Field(None, description="95% interval of the difference, high end")
    ratio: float | None = Field(None, description="journey rate / holdout rate")


class JourneyReportOut(Schema):
    enrolments: dict[str, int]
    steps: list[JourneyStepCount]
    goal: JourneyGoalReport | None = Field(None, description="conversion to the goal (null: "
                                                             "the journey has no goal)")


class JourneyOfContact(Schema):
    journey: int
    name: str
    version: int
    rotation: int
    state: str
    node: str
    entered_at: dt.datetime
    finished_at: dt.datetime | None
    exit_reason: str


class JourneyRecipeOut(Schema):
    id: str
    spec: str = Field(description="the requirement it meets (SPEC id)")
    name: str
    description: str
    trigger: str = Field(description="when a person enters, in words")
    goal: str | None = Field(description="the goal in words (null: none)")
    templates: int = Field(description="message templates it creates")
    segment: bool = Field(description="whether it creates a segment too")
    steps: list[str] = Field(description="its steps in words, in reading order")


class JourneyRecipeIn(Body):
    language: str = Field(description="the messages' language: fa | en")
    publish: bool = Field(False, description="turn it on now (journeys.publish: the owner)")


@router.get("/journeys/recipes", response={200: list[JourneyRecipeOut], ERRORS: ErrorOut})
def list_recipes(request):
    """Ready journeys (welcome, abandoned cart, win-back …) to create with one call."""
    from peyvand.journeys.recipe_views import recipe_data

    require(api_actor(request), "journeys.view")
    return recipe_data()


@router.post("/journeys/recipes/{recipe_id}", response={201: JourneyOut, ERRORS: ErrorOut})
def use_recipe(request, recipe_id: str, payload: JourneyRecipeIn):
    """Create the recipe's templates (in `language`), its segment if any, and its journey: a
    draft, or live at once with `publish`."""
    actor = api_actor(request)
    require(actor, "journeys.edit")
    used = actions.do_use_recipe(actor, recipe_id, payload.language, publish=payload.publish)
    return Status(201, queries.journey_data(used.journey))


@router.get("/journeys", response={200: JourneyPage, ERRORS: ErrorOut})
def list_journeys(request, paging: Query[Paging]):
    page, count = page_of(queries.journeys(api_actor(request)), paging)
    return {"items": [queries.journey_data(j) for j in page], "count": count,
            "page": paging.page, "page_size": paging.page_size}


@router.post("/journeys", response={201: JourneyOut, ERRORS: ErrorOut})
def create_journey(request, payload: JourneyIn):
    """A draft: people enter once it is published (POST …/publish)."""
    actor = api_actor(request)
    require(actor, "journeys.edit")
    return Status(201, queries.journey_data(actions.do_save_journey(actor, payload.model_dump())))


@router.get("/journeys/{int:journey_id}", response={200: JourneyOut, ERRORS: ErrorOut})
def get_journey(request, journey_id: int):
    return queries.journey_data(queries.journey_of(api_actor(request), journey_id))


@router.patch("/journeys/{int:journey_id}", response={200: JourneyOut, ERRORS: ErrorOut})
def update_journey(request, journey_id: int, payload: JourneyPatch):
    """Change the draft; people already in it stay on the version they started on."""
    actor = api_actor(request)
    require(actor, "journeys.edit")
    journey = queries.journey_of(actor, journey_id)
    raw = payload.model_dump(exclude_unset=True, exclude_none=True)
    return queries.journey_data(actions.do_save_journey(actor, raw, journey))


@router.post("/journeys/{int:journey_id}/publish", response={200: JourneyOut, ERRORS: ErrorOut})
def publish_journey(request, journey_id: int):
    """The draft becomes the next version and the journey goes live (resumes when paused)."""
    actor = api_actor(request)
    require(actor, "journeys.publish")
    journey = queries.journey_of(actor, journey_id)
    actions.do_publish(actor, journey)
    return queries.journey_data(journey)


@router.post("/journeys/{int:journey_id}/pause", response={200: JourneyOut, ERRORS: ErrorOut})
def pause_journey(request, journey_id: int):
    """No one enters and no step runs until it is published again."""
    actor = api_actor(request)
    require(actor, "journeys.publish")
    return queries.journey_data(actions.do_pause(actor, queries.journey_of(actor, journey_id)))


@router.post("/journeys/{int:journey_id}/enrol",
             response={200: JourneyEnrolOut, ERRORS: ErrorOut})
def enrol_contacts(request, journey_id: int, payload: JourneyEnrolIn):
    """Start these people on the live journey (re-entry and the limit apply)."""
    actor = api_actor(request)
    require(actor, "journeys.edit")
    journey = queries.journey_of(actor, journey_id)
    return actions.do_enrol(actor, journey, payload.contacts, source="api")


@router.post("/journeys/{int:journey_id}/move-waiting",
             response={200: JourneyMoveOut, ERRORS: ErrorOut})
def move_waiting(request, journey_id: int, payload: JourneyMoveIn):
    """Move everyone still running on an older version to this one, each at the step it is
    at (409, naming the step, when the version lacks it or no longer waits there)."""
    actor = api_actor(request)
    require(actor, "journeys.publish")
    journey = queries.journey_of(actor, journey_id)
    version = actions.version_of(journey, payload.version)
    return {"moved": actions.do_move_waiting(actor, journey, version),
            "version": version.number}


@router.get("/journeys/{int:journey_id}/report",
            response={200: JourneyReportOut, ERRORS: ErrorOut})
def journey_report(request, journey_id: int):
    """Per step counts, enrolments by state, and conversion to the goal: per arm of the split
    (the journey against the holdout, the difference's 95% interval) or overall."""
    actor = api_actor(request)
    journey = queries.journey_of(actor, journey_id)
    return {**queries.report(actor, journey), "goal": queries.goal_report(journey)}


@router.get("/contacts/{int:contact_id}/journeys",
            response={200: list[JourneyOfContact], ERRORS: ErrorOut})
def contact_journeys(request, contact_id: int):
    """The journeys this contact is on or was on, newest first."""
    from peyvand.contacts.models import Contact

    actor = api_actor(request)
    require(actor, "journeys.view")
    require(actor, "contacts.view")
    get_object_or_404(Contact.objects.live(), pk=contact_id)
    return queries.contact_journeys(actor, contact_id)
