"""Conventions every API router shares: input hygiene, paging, the error body, the actor.

Routers in each app import from here (never from each other), so all endpoints answer errors,
pages and bad input the same way. Errors themselves are rendered by peyvand.api's handlers.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from peyvand.base.actor import Actor

try:
    from ninja import Status
except ImportError:  # django-ninja before Status existed took a (code, body) tuple
    def Status(status_code, value):  # type: ignore[no-redef]  # noqa: N802
        return status_code, value

MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000  # keeps OFFSET inside what every database accepts
MAX_BULK_IDS = 10_000  # below SQLite's limit on query parameters
DB_INT = Annotated[int, Field(ge=1, le=2**63 - 1)]
ERRORS = frozenset({400, 401, 403, 404, 409, 413, 422})


# --- input --------------------------------------------------------------------------------------

def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class Input(Schema):
    """Permissive types so check_contact_data, not pydantic, names what is wrong; numbers
    are taken as text (ids and mobiles often arrive as numbers)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value):
        # PostgreSQL cannot store NUL in text; refuse it here rather than fail on save.
        if _has_nul(value):
            raise ValueError(_("Text may not contain NUL characters."))
        return value


class Body(Input):
    # A misspelt key is reported instead of silently dropped.
    model_config = ConfigDict(extra="forbid")



class Paging(Input):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class ErrorOut(Schema):
    detail: str
    errors: dict[str, str] = {}
    owner_id: int | None = Field(None, description="on 409: the contact holding the identity")


def api_actor(request) -> Actor:
    return Actor.for_user(request.auth, "api")


def page_of(qs: QuerySet, paging: Paging) -> tuple[QuerySet, int]:
    start = (paging.page - 1) * paging.page_size
    return qs[start:start + paging.page_size], qs.count()
