from django.urls import path

from peyvand.contacts import views

app_name = "contacts"
urlpatterns = [
    path("", views.contact_list, name="contact_list"),
    path("new/", views.contact_create, name="contact_create"),
    path("<int:pk>/", views.contact_detail, name="contact_detail"),
    path("<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/notes/", views.note_add, name="note_add"),
    path("<int:pk>/merge/", views.merge_pick, name="merge_pick"),
    path("<int:pk>/merge/<int:other>/", views.merge_preview_view, name="merge_preview"),
    path("<int:pk>/export/", views.contact_export, name="contact_export"),
    path("<int:pk>/erase/", views.contact_erase, name="contact_erase"),
    path("tags/", views.tag_list, name="tag_list"),
    path("tags/<int:pk>/rename/", views.tag_rename, name="tag_rename"),
    path("tags/<int:pk>/delete/", views.tag_delete, name="tag_delete"),
    path("fields/", views.field_list, name="field_list"),
    path("fields/new/", views.field_create, name="field_create"),
    path("fields/<int:pk>/edit/", views.field_edit, name="field_edit"),
    path("fields/<int:pk>/delete/", views.field_delete, name="field_delete"),
]
