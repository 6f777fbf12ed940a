from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "peyvand.insights"
    label = "insights"
