from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "peyvand.tracking"
    label = "tracking"
