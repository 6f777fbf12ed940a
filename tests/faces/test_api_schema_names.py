"""Every API schema class has its own name: the OpenAPI document keys components by class
name, so two apps' `ApproveIn` made one operation document the other's body (found by
schemathesis when campaigns added its own)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

from ninja import Schema

import peyvand


def _api_modules():
    for info in pkgutil.walk_packages(peyvand.__path__, "peyvand."):
        leaf = info.name.rsplit(".", 1)[1]
        if leaf.startswith("api") and "migrations" not in info.name:
            yield importlib.import_module(info.name)


def test_no_two_api_schemas_share_a_name():
    owners: dict[str, set[str]] = defaultdict(set)
    for module in _api_modules():
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Schema) and \
                    value.__module__ == module.__name__:
                owners[value.__name__].add(module.__name__)
    assert len(owners) > 50
    assert {name: sorted(found) for name, found in owners.items() if len(found) > 1} == {}
