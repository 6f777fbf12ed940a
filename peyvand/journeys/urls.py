from django.urls import path

from peyvand.journeys import views

app_name = "journeys"
urlpatterns = [
    path("forgotten/", views.forgotten_list, name="forgotten"),
]
