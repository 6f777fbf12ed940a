"""The one error for input Peyvand refuses: `Invalid`, field → reason.

Actions raise it (or an app's thin subclass of it); each face handles it once: the API answers
`{"detail": reason, "errors": {field: reason}}` with `status` (peyvand.api), the CLI prints the
reason and exits 1 (peyvand.cli). Web views may catch it to put each reason on its form field.
Reasons may be lazily translated: they are turned into text when shown, in the reader's
language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.utils.functional import Promise


class Invalid(ValueError):
    """Input that cannot be accepted; `errors` maps each field to what is wrong with it.

    `status` is the API's answer: 400, or 409 when the input is well formed but the state of
    things refuses it (a template in use, a digest that changed). `extra` is added to the API's
    error body (e.g. the contact that holds an identity)."""

    status = 400

    def __init__(self, errors: Mapping[str, str | Promise], *, status: int | None = None,
                 **extra: Any):
        # Lazy reasons stay lazy; they are read as text wherever they are shown.
        self.errors = cast(dict[str, str], dict(errors))
        if status is not None:
            self.status = status
        self.extra = extra
        super().__init__(self.errors)

    def __str__(self) -> str:
        return "; ".join(f"{field}: {reason}" for field, reason in self.errors.items())

    @property
    def reason(self) -> str:
        """The whole reason as one text, in the active language: the API's `detail` and what
        the CLI prints."""
        return str(self)
