"""The site's URLs with the act page and the bulk-action API mounted, for tests written
before the lead wires audiences' urls.py (`action_urlpatterns`) and api.py (`router`):
once wired, the site's own are used."""

from django.urls import NoReverseMatch, include, path, reverse

from peyvand.api import api as site_api
from peyvand.audiences.actions_views import action_urlpatterns
from peyvand.audiences.api_actions import router as actions_router
from peyvand.urls import urlpatterns as site

urlpatterns = list(site)
try:
    reverse("audiences:act", urlconf="peyvand.urls")
except NoReverseMatch:
    urlpatterns.insert(0, path("segments/", include((action_urlpatterns, "audiences"))))


def _mounted(api, router) -> bool:
    routers = [r for _prefix, r in api._routers]
    while routers:
        found = routers.pop()
        if found is router:
            return True
        routers.extend(r for _prefix, r in getattr(found, "_routers", []))
    return False


if not _mounted(site_api, actions_router):
    from ninja import NinjaAPI

    from peyvand.accounts.api import BearerAuth
    from peyvand.api import StrictParser

    # The same auth, parser and error handlers as the site's API, serving only these routes.
    test_api = NinjaAPI(auth=BearerAuth(), parser=StrictParser(),
                        urls_namespace="api-actions-test", docs_url=None)
    test_api._exception_handlers = dict(site_api._exception_handlers)
    test_api.add_router("/", actions_router)
    urlpatterns.insert(0, path("api/v1/", test_api.urls))
