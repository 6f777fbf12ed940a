from django.urls import path

from peyvand.mailcatcher import views

app_name = "mailcatcher"
urlpatterns = [
    path("", views.mail_list, name="list"),
    path("<int:pk>/", views.mail_detail, name="detail"),
    path("<int:pk>/raw/", views.mail_raw, name="raw"),
]
