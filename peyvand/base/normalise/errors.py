from __future__ import annotations

from django.utils.functional import Promise


class InvalidValue(ValueError):
    """A value that cannot be accepted; `field` names the input and `message` says why."""

    def __init__(self, field: str, message: str | Promise, value: object = None):
        self.field = field
        self.message = message
        self.value = value
        super().__init__(f"{field}: {message}")
