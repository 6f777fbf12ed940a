from django.urls import path

from peyvand.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("due/", views.due_list, name="due_list"),
    path("customers/", views.customer_list, name="customer_list"),
    path("settings/", views.settings_view, name="settings"),
    path("refresh/", views.refresh, name="refresh"),
]
