from django.urls import path

from peyvand.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_edit, name="new"),
    path("calendar/", views.calendar, name="calendar"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/report.csv", views.campaign_report_csv, name="report_csv"),
]
# One POST each: submit, approve, reject, cancel, test, schedule (campaigns:<what>).
urlpatterns += [path(f"<int:pk>/{what}/", views.campaign_act, {"what": what}, name=what)
                for what in ("submit", "approve", "reject", "cancel", "test", "schedule")]
