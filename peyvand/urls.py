from django.urls import include, path

from peyvand.api import api
from peyvand.base import views as base_views
from peyvand.commerce.urls import hooks

urlpatterns = [
    path("healthz", base_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("accounts/", include("peyvand.accounts.urls")),
    path("contacts/", include("peyvand.contacts.urls")),
    path("commerce/", include("peyvand.commerce.urls")),
    path("imports/", include("peyvand.imports.urls")),
    path("hooks/", include(hooks)),
    path("mailcatcher/", include("peyvand.mailcatcher.urls")),
    path("insights/", include("peyvand.insights.urls")),
    path("messaging/", include("peyvand.messaging.urls")),
    path("", include("peyvand.public_urls")),  # consent/, t/
    path("", include("peyvand.base.urls")),
]
