from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "peyvand.consent"
    label = "consent"
