"""How a face finds what each app contributes to it: the app's module of an agreed name
(`cli` with `add_commands`, `api` with `router`), looked up through the Django app registry in
INSTALLED_APPS order, so the face names no app.

Only Peyvand's own apps count: a third-party app may have a module of the same name for
another purpose (django.contrib.messages.api). An app without the module is skipped; one whose
module fails to import fails loudly (find_spec, not a swallowed ImportError).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from types import ModuleType

from django.apps import apps

PROJECT = __name__.split(".")[0]


def app_modules(name: str) -> Iterator[ModuleType]:
    """`<app>.<name>` of every installed Peyvand app that has one, in INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        if config.name.split(".")[0] != PROJECT:
            continue
        module = f"{config.name}.{name}"
        if importlib.util.find_spec(module) is not None:
            yield importlib.import_module(module)
