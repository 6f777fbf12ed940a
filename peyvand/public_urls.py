"""The routes that public links in messages point at: consent pages and tracking.

Kept apart from the rest of the site (peyvand/urls.py includes this) so that a process which
only makes links, the sender, can reverse them without importing every view and the API
(about 0.9 s per sender process)."""

from django.urls import include, path

urlpatterns = [
    path("consent/", include("peyvand.consent.urls")),
    path("t/", include("peyvand.tracking.urls")),
]
