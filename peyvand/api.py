"""The REST API root: one NinjaAPI at /api/v1/, routers owned by each app's api.py.

The root knows no app's operations: each app's api.py exposes `router`, found through the
Django app registry in INSTALLED_APPS order. Every error leaves as JSON
`{"detail": reason, "errors": {field: message}}` (peyvand.api_common.error_response), so
clients can show the person who typed a value what is wrong with it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from peyvand.accounts.api import BearerAuth
from peyvand.api_common import error_response
from peyvand.base.app_modules import app_modules
from peyvand.base.errors import Invalid
from peyvand.base.normalise import check_storable_text

logger = logging.getLogger(__name__)


class StrictParser(Parser):
    """Every JSON body, query string and form field passes here before any schema: text no
    database can store (NUL, a lone surrogate such as "\\ud800") is refused with 400, naming
    where it was, for every endpoint at once."""

    def parse_body(self, request):
        data = super().parse_body(request)
        check_storable_text(data)
        return data

    def parse_querydict(self, data, list_fields, request):
        result = super().parse_querydict(data, list_fields, request)
        check_storable_text(result)
        return result


api = NinjaAPI(
    title="Peyvand API",
    version="1",
    description="Contacts (identities, tags, custom fields), consent and preferences, "
    "orders and products, insights, segments, templates and messages, campaigns, journeys, "
    "tasks, imports and API tokens. Authenticate with `Authorization: Bearer <token>`: "
    "create one under Settings → Security → API tokens, or with `peyvand token create USER`. "
    'Errors are JSON: `{"detail": "...", "errors": {"field": "message"}}`.',
    auth=BearerAuth(),
    parser=StrictParser(),
    urls_namespace="api",
    # Swagger UI from ninja's own static files ("ninja" is in INSTALLED_APPS; without it
    # ninja would load it from a CDN, so no page then), never calling its external validator.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs" if "ninja" in settings.INSTALLED_APPS else None,
)

# Where pydantic puts a value; dropped from error keys so they name the client's own field.
_SOURCES = {"body", "query", "path", "payload", "filters", "paging"}


def _is_type_tag(part: str) -> bool:
    # pydantic names the branch of a union that failed: "list[nullable[str]]", "str",
    # "function-after[_as_text(), int]"; clients know fields and indices only.
    return "[" in part or part in {"str", "int", "float", "bool", "list", "dict", "none"}


def _field_name(loc) -> str:
    parts = [str(p) for p in loc]
    while parts and parts[0] in _SOURCES:
        parts.pop(0)
    return ".".join(p for p in parts if not _is_type_tag(p)) or "body"


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    # A path that names nothing (/contacts/abc) is not found, as /imports/abc is by its route.
    if exc.errors and all(tuple(item.get("loc", ()))[:1] == ("path",) for item in exc.errors):
        return on_not_found(request, Http404())
    errors: dict[str, str] = {}
    for item in exc.errors:
        errors.setdefault(_field_name(item.get("loc", ())), item.get("msg", ""))
    return error_response(request, 422, _("Invalid input."), errors)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    response = error_response(request, 401, _("Missing or invalid bearer token."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    # ninja turns a body it cannot parse into a bare HttpError(400) raised from the cause.
    if exc.status_code == 400 and isinstance(exc.__cause__, Invalid):
        return on_invalid(request, exc.__cause__)
    if exc.status_code == 400 and exc.__cause__ is not None:
        return error_response(request, 400, _("The request body is not valid JSON."))
    return error_response(request, exc.status_code, str(exc))


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return error_response(request, 413, _("The request body is too large."))


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request, exc):
    # Django's own 400s (too many fields, a malformed multipart body), not our 500s.
    return error_response(request, 400, _("The request cannot be read."))


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return error_response(request, 403, str(exc) or _("Your role may not do this."))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, 404, _("Not found."))


@api.exception_handler(Exception)
def on_unexpected_error(request, exc: Exception):
    # Logged with its traceback like any server error; the client still gets the JSON shape.
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(request, 500, _("Internal server error; it has been logged."))


@api.exception_handler(Invalid)
def on_invalid(request, exc: Invalid):
    # The one handler for input an action refused, whichever app's subclass it is.
    return error_response(request, exc.status, exc.reason, exc.errors, **exc.extra)


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request, exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
    else:
        errors = {}
    return error_response(request, 400, " ".join(exc.messages), errors)


# Each app's operations, from its api.py.
for module in app_modules("api"):
    api.add_router("/", module.router)
