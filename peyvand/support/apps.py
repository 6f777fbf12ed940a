from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "peyvand.support"
    label = "support"
    verbose_name = _("Support")

    def ready(self) -> None:
        from peyvand.base.roles import ALL, MARKETER, OWNER, SUPPORT, register_capabilities

        register_capabilities(self.label, {
            "tasks.view": ALL,
            # create tasks, take, close and hand back their own and the team's
            "tasks.work": {OWNER, SUPPORT, MARKETER},
            "tasks.manage": {OWNER},  # cancel, assign to anyone, close anyone's
        })
        from peyvand.contacts.hooks import ERASE_HOOKS, EXPORT_HOOKS, MERGE_HOOKS

        MERGE_HOOKS.register("peyvand.support.personal_data.move_tasks")
        ERASE_HOOKS.register("peyvand.support.personal_data.erase")
        EXPORT_HOOKS.register("peyvand.support.personal_data.export_sections")

        from peyvand.contacts.timeline import register_kind
        from peyvand.support.words import task_summary

        register_kind("task.created", _("Task created"), owner=self.label, summary=task_summary)
        register_kind("task.closed", _("Task closed"), owner=self.label, summary=task_summary)
