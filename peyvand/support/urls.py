from django.urls import path

from peyvand.support import views

app_name = "support"
urlpatterns = [
    path("", views.task_list, name="list"),
    path("new/", views.task_new, name="new"),
    path("<int:pk>/close/", views.task_close, name="close"),
    path("<int:pk>/take/", views.task_take, name="take"),
    path("<int:pk>/cancel/", views.task_cancel, name="cancel"),
]
