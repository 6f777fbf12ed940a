from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "peyvand.messaging"
    label = "messaging"
