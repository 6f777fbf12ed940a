from django.urls import path

from peyvand.messaging import views

app_name = "messaging"
urlpatterns = [
    path("templates/", views.template_list, name="template_list"),
    path("templates/new/", views.template_edit, name="template_new"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/preview/", views.template_preview, name="template_preview"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("broadcasts/", views.broadcast_list, name="broadcast_list"),
    path("broadcasts/<int:pk>/", views.broadcast_detail, name="broadcast_detail"),
    path("broadcasts/<int:pk>/outbox/", views.broadcast_outbox, name="broadcast_outbox"),
    path("broadcasts/<int:pk>/approve/", views.broadcast_decide, {"decision": "approve"},
         name="broadcast_approve"),
    path("broadcasts/<int:pk>/reject/", views.broadcast_decide, {"decision": "reject"},
         name="broadcast_reject"),
    path("messages/<int:pk>/", views.message_detail, name="message_detail"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("settings/", views.sending_settings, name="settings"),
]
