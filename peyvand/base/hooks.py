"""Hooks: functions one floor runs on behalf of the floors above it (a merge moves their rows,
an order changes their figures), registered by dotted path from the upper floors' AppConfig.ready.

By path, not by function, so starting a process (every web, worker and CLI start) does not
import each floor's services and what they load (numpy, phone metadata ...): a hook's module
is imported the first time the hooks run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.utils.module_loading import import_string


class Hooks:
    def __init__(self) -> None:
        self._paths: list[str] = []
        self._loaded: list[Callable[..., Any]] | None = None

    def register(self, path: str) -> None:
        """Add "package.module.function" once (ready() may run again in tests)."""
        if path not in self._paths:
            self._paths.append(path)
            self._loaded = None

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        if self._loaded is None:
            self._loaded = [import_string(path) for path in self._paths]
        return iter(self._loaded)

    def __contains__(self, hook: object) -> bool:
        return any(found is hook for found in self)
