"""The site's URLs with the catcher's pages mounted, whether or not the root URLconf has
mounted them yet."""

from django.urls import include, path

from peyvand.urls import urlpatterns as site

mounted = any(getattr(p, "namespace", None) == "mailcatcher" for p in site)
urlpatterns = site if mounted else [path("mailcatcher/", include("peyvand.mailcatcher.urls")),
                                    *site]
