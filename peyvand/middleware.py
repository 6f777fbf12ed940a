"""Site-wide answers to bad requests that no single view sees whole.

- A query string holding NUL is refused (400, naming the parameter) before any page: PostgreSQL
  refuses NUL in a query, so every filter and search box would otherwise be a 500. (The API's
  parser does the same for /api/v1/, after authentication, in the token user's language.)
- Under /api/v1/ every error is JSON in the API's shape, even those that never reach the API's
  own handlers: a path no route matches (`/api/v1/imports/abc`), a method a path does not
  allow (405, `Allow` kept), or a server error outside an operation.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from peyvand.api_common import error_response
from peyvand.base.normalise import InvalidValue, check_storable_text

API_PREFIX = "/api/v1/"


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


class RefuseUnstorableQuery:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") and not _is_api(request):
            try:
                for key in request.GET:
                    check_storable_text(key, "query")
                    check_storable_text(request.GET.getlist(key), key)
            except InvalidValue as exc:
                field = exc.field.split(".")[0]
                page = render_to_string("400.html", {"reason": exc.message, "field": field},
                                        request=request)
                return HttpResponseBadRequest(page)
        return self.get_response(request)


def _reason(status: int, response: HttpResponse) -> str:
    reasons = {
        404: _("Not found."),
        405: _("This method is not allowed here; see the Allow header."),
        500: _("Internal server error; it has been logged."),
    }
    return str(reasons.get(status) or response.reason_phrase)


class JsonApiErrors:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code >= 400 and _is_api(request)
                and not response.get("Content-Type", "").startswith("application/json")):
            replaced = error_response(request, response.status_code,
                                      _reason(response.status_code, response))
            for header in ("Allow", "WWW-Authenticate", "Retry-After"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response
