"""The REST API root: one NinjaAPI at /api/v1/, routers owned by each app's api.py."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from peyvand.accounts.api import BearerAuth
from peyvand.base.normalise import InvalidValue

api = NinjaAPI(
    title="Peyvand API",
    version="1",
    description="Contacts, identities, tags and custom fields. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `peyvand token create USER`).",
    auth=BearerAuth(),
    urls_namespace="api",
)


def _error(request, status: int, reason: str, **extra):
    return api.create_response(request, {"detail": reason, **extra}, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    return _error(request, 422, "Invalid input.", errors=exc.errors)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "Missing or invalid bearer token.")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return _error(request, 403, str(exc) or "Your role may not do this.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "Not found.")


@api.exception_handler(InvalidValue)
def on_invalid_value(request, exc: InvalidValue):
    return _error(request, 400, str(exc.message), errors={exc.field: str(exc.message)})


from peyvand.commerce.api import router as commerce_router  # noqa: E402
from peyvand.contacts.api import router as contacts_router  # noqa: E402
from peyvand.imports.api import router as imports_router  # noqa: E402

api.add_router("/", contacts_router)
api.add_router("/", commerce_router)
api.add_router("/", imports_router)
