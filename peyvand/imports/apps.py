from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "peyvand.imports"
    label = "imports"
