from django.urls import path

from peyvand.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("map/<str:token>/", views.mapping, name="mapping"),
    path("orders/", views.orders_upload, name="orders"),
    path("orders/<str:token>/", views.orders_preview, name="orders_preview"),
    path("<int:pk>/", views.job, name="job"),
    path("<int:pk>/status.json", views.status, name="status"),
    path("<int:pk>/rejected.csv", views.rejected, name="rejected"),
]
