"""The site's URLs with the act page mounted, for tests written before the lead wires
audiences' urls.py (`action_urlpatterns`): once wired, the site's own are used."""

from django.urls import NoReverseMatch, include, path, reverse

from peyvand.audiences.actions_views import action_urlpatterns
from peyvand.urls import urlpatterns as site

try:
    reverse("audiences:act", urlconf="peyvand.urls")
    urlpatterns = list(site)
except NoReverseMatch:
    urlpatterns = [path("segments/", include((action_urlpatterns, "audiences"))), *site]
