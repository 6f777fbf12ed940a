from django.urls import path

from peyvand.audiences import views
from peyvand.audiences.actions_views import action_urlpatterns

app_name = "audiences"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_new, name="new"),
    path("preview/", views.preview, name="preview"),
    path("products/", views.products, name="products"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.segment_edit, name="edit"),
    path("<int:pk>/delete/", views.segment_delete, name="delete"),
    path("<int:pk>/refresh/", views.segment_refresh, name="refresh"),
]
# Acting on people (tag, untag, export, broadcast): audiences:act.
urlpatterns += action_urlpatterns
