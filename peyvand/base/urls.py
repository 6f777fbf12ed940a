from django.urls import path

from peyvand.base import views

app_name = "base"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("audit/", views.audit_log, name="audit"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/export/", views.export_contacts, name="export_contacts"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
]
