"""/t/…: the same open and click URLs the fast path answers, for servers run without it (and
the 400 page the fast path leaves to Django for bad click tokens)."""

from django.urls import path

from peyvand.tracking import views

app_name = "tracking"
urlpatterns = [
    path("o/<str:token>.gif", views.open_pixel, name="open"),
    path("c/<str:token>", views.click, name="click"),
]
