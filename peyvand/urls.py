from django.urls import include, path

from peyvand.api import api
from peyvand.base import views as base_views
from peyvand.commerce.urls import hooks
from peyvand.contacts import dashboard, export_views

# The home page and the shared pages around the job runner. Their views live with what they
# show (base: audit and jobs; contacts: dashboard and export), so the face assembles them,
# keeping the "base" namespace their URLs have always been named by.
home = ([
    path("", dashboard.dashboard, name="dashboard"),
    path("audit/", base_views.audit_log, name="audit"),
    path("jobs/", base_views.jobs, name="jobs"),
    path("settings/shop/", base_views.shop_settings, name="shop"),
    path("jobs/export/", export_views.export_contacts, name="export_contacts"),
    path("jobs/<int:pk>/download/", export_views.job_download, name="job_download"),
], "base")

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
    path("segments/", include("peyvand.audiences.urls")),
    path("campaigns/", include("peyvand.campaigns.urls")),
    path("journeys/", include("peyvand.journeys.urls")),
    path("tasks/", include("peyvand.support.urls")),
    path("", include("peyvand.public_urls")),  # consent/, t/
    path("", include(home)),
]
