from django.urls import path

from peyvand.consent import views

app_name = "consent"
urlpatterns = [
    # staff, signed in
    path("", views.form_list, name="form_list"),
    path("forms/new/", views.form_edit, name="form_new"),
    path("forms/<int:pk>/", views.form_detail, name="form_detail"),
    path("forms/<int:pk>/edit/", views.form_edit, name="form_edit"),
    path("forms/<int:pk>/delete/", views.form_delete, name="form_delete"),
    path("topics/", views.topic_list, name="topic_list"),
    path("topics/new/", views.topic_edit, name="topic_new"),
    path("topics/<int:pk>/", views.topic_edit, name="topic_edit"),
    path("topics/<int:pk>/delete/", views.topic_delete, name="topic_delete"),
    path("report/", views.report, name="report"),
    path("churn/", views.churn_page, name="churn"),
    path("suppressions/", views.suppressions, name="suppressions"),
    path("contacts/<int:pk>/", views.contact_consent, name="contact"),
    path("contacts/<int:pk>/proof/", views.contact_proof, name="proof"),
    path("contacts/<int:pk>/send-link/", views.send_link, name="send_link"),
    # public: the person, through a form or a signed link
    path("f/<slug:slug>/", views.signup_page, name="signup"),
    path("f/<slug:slug>/code/<str:token>/", views.signup_code, name="signup_code"),
    path("c/<str:token>/", views.confirm, name="confirm"),
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/one-click", views.one_click, name="one_click"),
    path("hooks/sms/<str:token>/", views.sms_hook, name="sms_hook"),
]
