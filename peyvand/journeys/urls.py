from django.urls import path

from peyvand.journeys import recipe_views, views

app_name = "journeys"
urlpatterns = [
    path("", views.journey_list, name="list"),
    path("new/", views.journey_new, name="new"),
    path("forgotten/", views.forgotten_list, name="forgotten"),
    path("recipes/", recipe_views.recipe_list, name="recipes"),
    path("recipes/<slug:recipe_id>/use/", recipe_views.recipe_use, name="recipe_use"),
    path("<int:pk>/", views.journey_detail, name="detail"),
    path("<int:pk>/definition/", views.journey_definition, name="definition"),
    path("<int:pk>/publish/", views.journey_publish, name="publish"),
    path("<int:pk>/pause/", views.journey_pause, name="pause"),
    path("<int:pk>/enrol/", views.journey_enrol, name="enrol"),
    path("<int:pk>/builder/", views.journey_builder, name="builder"),
    path("<int:pk>/test/", views.journey_test, name="test"),
]
