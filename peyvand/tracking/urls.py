"""/t/…: the same open, click and SMS short-link URLs the fast path answers, for servers run
without it (and the pages the fast path leaves to Django: 400 for a bad click token, 404 for
an unknown short code)."""

from django.urls import path

from peyvand.tracking import views

app_name = "tracking"
urlpatterns = [
    path("o/<str:token>.gif", views.open_pixel, name="open"),
    path("c/<str:token>", views.click, name="click"),
    path("s/<str:code>", views.short, name="short"),
]
