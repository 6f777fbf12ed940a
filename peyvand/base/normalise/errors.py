from __future__ import annotations

from django.utils.functional import Promise

from peyvand.base.errors import Invalid


class InvalidValue(Invalid):
    """One value that cannot be accepted; `field` names the input and `message` says why."""

    def __init__(self, field: str, message: str | Promise, value: object = None):
        super().__init__({field: message})
        self.field = field
        self.message = message
        self.value = value

    @property
    def reason(self) -> str:
        return str(self.message)
