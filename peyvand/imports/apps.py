from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "peyvand.imports"
    label = "imports"

    def ready(self) -> None:
        from peyvand.contacts.hooks import ERASE_COPIES_HOOKS

        # Uploaded files and rejected-rows reports lose an erased person.
        ERASE_COPIES_HOOKS.register("peyvand.imports.personal_data.erase_copies")
