"""Conventions every API router shares: input hygiene, paging, the error body, the actor.

Routers in each app import from here (never from each other, never from peyvand.api), so all
endpoints answer errors, pages and bad input the same way. What belongs here needs nothing
above `base`: this module sits on the ground floor and imports only Django, ninja, pydantic,
the standard library and peyvand.base. Each app's api.py exposes `router`, which peyvand.api
finds through the app registry; errors raised in an operation are rendered by peyvand.api's
handlers, with `error_response` below.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema
from ninja.renderers import JSONRenderer
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StrictFloat, StrictInt, StrictStr

from peyvand.base.actor import Actor

try:
    from ninja import Status
except ImportError:  # django-ninja before Status existed took a (code, body) tuple
    def Status(status_code, value):  # type: ignore[no-redef]  # noqa: N802
        return status_code, value

MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000  # keeps OFFSET inside what every database accepts
MAX_BULK_IDS = 10_000  # below SQLite's limit on query parameters


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 12.0 is the integer 12 (as JSON Schema says), 12.5 is not.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A whole number in a JSON body takes 12 or 12.0, never "12" or 12.5:
# `Annotated[int, Field(ge=0, le=23), WHOLE] | None` (bounds inside, so the schema keeps them).
WHOLE = BeforeValidator(_whole_number)

# An id: in a JSON body an integer (12 or 12.0, never "12"); in a path or query the digits.
DB_INT = Annotated[int, Field(ge=1, le=2**63 - 1), WHOLE]
ERRORS = frozenset({400, 401, 403, 404, 409, 413, 422})


# --- input --------------------------------------------------------------------------------------
# Text no database can store (NUL, lone surrogates) is refused before any schema sees it, by the
# API's parser (peyvand.api.StrictParser), naming where it was.

class Input(Schema):
    """Query strings and form fields: text by nature, so "2" is read as the integer 2."""


class Body(Input):
    """A JSON body: types as the schema says them (a number where text is declared is
    refused, and "true" is not a boolean), and a misspelt key is reported instead of
    silently dropped."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _as_text(value: int | float | str) -> str:
    return value if isinstance(value, str) else str(value)


# Amounts, quantities and ids that shops send as numbers or as text ("1,250,000", "۱۲٬۵۰۰"):
# both are declared, and the action reads the text.
NumberOrText = Annotated[StrictInt | StrictFloat | StrictStr, AfterValidator(_as_text)]


def one_of(*values: str) -> Any:
    """`Annotated[str, one_of(...)]`: text whose allowed values the schema lists (an enum); the
    action refuses anything else with its own reason (400). Use `Literal` instead where no
    action checks the value."""
    return Field(json_schema_extra={"enum": list(values)})


class Paging(Input):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class ErrorOut(Schema):
    detail: str
    errors: dict[str, str] = {}
    owner_id: int | None = Field(None, description="on 409: the contact holding the identity")


_RENDERER = JSONRenderer()  # the API's own renderer (peyvand.api sets no other)


def error_response(request: HttpRequest, status: int, reason: Any,
                   errors: dict | None = None, **extra: Any) -> HttpResponse:
    """The one error body: `{"detail": reason, "errors": {field: message}, ...extra}`."""
    body = {"detail": str(reason), "errors": {str(k): str(v) for k, v in (errors or {}).items()},
            **extra}
    return HttpResponse(_RENDERER.render(request, body, response_status=status), status=status,
                        content_type=f"{_RENDERER.media_type}; charset={_RENDERER.charset}")


def csv_answer(also_json: bool = False) -> dict[str, Any]:
    """`openapi_extra` for an operation answering a CSV file (as well as JSON when
    `also_json`, e.g. behind `format=csv`)."""
    content: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
    description = "A CSV file (UTF-8)"
    if also_json:
        description = "JSON, or with format=csv a CSV file (UTF-8)"
    return {"responses": {200: {"description": description, "content": content}}}


def api_actor(request) -> Actor:
    return Actor.for_user(request.auth, "api")


def page_of(qs: QuerySet, paging: Paging) -> tuple[QuerySet, int]:
    start = (paging.page - 1) * paging.page_size
    return qs[start:start + paging.page_size], qs.count()
