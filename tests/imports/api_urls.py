"""URLs for the import API tests: the real /api/v1/ when peyvand/api.py mounts the imports
router; until it does, an API with the same auth and error handlers that mounts it, so the
tests exercise the same handlers either way."""

from django.urls import include, path
from ninja import NinjaAPI

from peyvand.api import api as main_api
from peyvand.imports.api import router

if any(mounted is router for _prefix, mounted in main_api._routers):
    urlpatterns = [path("", include("peyvand.urls"))]
else:
    api = NinjaAPI(auth=main_api.auth, urls_namespace="api", docs_url=None)
    api._exception_handlers.update(main_api._exception_handlers)
    api.add_router("/", router)
    urlpatterns = [path("api/v1/", api.urls)]
