"""base.hooks: hooks registered by path, imported when they first run; so starting a process
loads no floor's services it does not use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from peyvand.base.hooks import Hooks

ROOT = Path(__file__).resolve().parents[2]


def test_hooks_run_the_functions_their_paths_name_once_each():
    hooks = Hooks()
    hooks.register("json.dumps")
    hooks.register("json.loads")
    hooks.register("json.dumps")  # ready() may run again
    assert list(hooks) == [json.dumps, json.loads]
    assert json.loads in hooks and json.load not in hooks


def test_registered_apps_hooks_resolve():
    from peyvand.commerce.hooks import ORDER_CHANGED_HOOKS
    from peyvand.contacts.hooks import ERASE_HOOKS, MERGE_HOOKS
    from peyvand.messaging.outbox import move_outbox_rows

    assert move_outbox_rows in MERGE_HOOKS
    assert len(list(MERGE_HOOKS)) >= 5 and len(list(ERASE_HOOKS)) >= 4
    assert all(callable(h) for h in [*MERGE_HOOKS, *ERASE_HOOKS, *ORDER_CHANGED_HOOKS])


def test_a_sender_process_starts_without_what_it_does_not_use(tmp_path):
    env = {**os.environ, "PEYVAND_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    script = ("import os, sys, json; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
              "'peyvand.settings'); import django; django.setup(); "
              "import peyvand.messaging.sender; print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    for heavy in ("numpy", "scipy", "phonenumbers", "email_validator",
                  "peyvand.insights.actions", "peyvand.commerce.actions"):
        assert heavy not in loaded, heavy
