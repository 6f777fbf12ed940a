"""The house rules ARCHITECTURE.md states that are not imports (those are lint-imports'):
checked here so a change that breaks one fails the suite, not a review."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PEYVAND = Path(__file__).resolve().parents[2] / "peyvand"
LONG = 400


def _modules() -> list[Path]:
    return sorted(p for p in PEYVAND.rglob("*.py") if "migrations" not in p.parts)


def _name(path: Path) -> str:
    return str(path.relative_to(PEYVAND.parent))


@pytest.mark.parametrize("path", [p for p in _modules()
                                  if len(p.read_text().splitlines()) > LONG], ids=_name)
def test_a_long_module_says_at_its_top_why(path):
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert re.search(r"\b400 lines\b", docstring), (
        f"{_name(path)} is over {LONG} lines: split it, or say at its top why not")


# Where reading the process environment is right: entry points that choose the settings
# module before Django starts, the shell's own choices (locale, --as's PEYVAND_USER), and the
# settings themselves.
ENVIRONMENT_READERS = {
    "peyvand/settings.py", "peyvand/settings_test.py", "peyvand/cli.py", "peyvand/wsgi.py",
    "peyvand/accounts/cli.py", "peyvand/messaging/worker.py", "peyvand/mailcatcher/server.py",
    "peyvand/tracking/inbound.py",
}


def test_code_reads_settings_not_the_environment():
    offenders = []
    for path in _modules():
        if _name(path) in ENVIRONMENT_READERS:
            continue
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text or re.search(
                r"getattr\(\s*settings\s*,", text):
            offenders.append(_name(path))
    assert offenders == [], "declare the setting in settings.py and read django.conf.settings"


def test_no_hidden_imports():
    # `__import__` hides an arrow from the import contract; a swallowed ImportError makes an
    # absent app look like a working one. A lower floor owns an interface instead.
    offenders = [_name(p) for p in _modules() if "__import__(" in p.read_text()]
    guarded = [_name(p) for p in _modules() if "except ImportError" in p.read_text()]
    assert offenders == []
    # api_common: django-ninja releases before Status took a (code, body) tuple.
    assert guarded == ["peyvand/api_common.py"]


@pytest.mark.parametrize("path", sorted(PEYVAND.glob("messaging/sender*.py")), ids=_name)
def test_the_senders_functions_fit_on_a_screen(path):
    # The sender was one 700-line class; split by what it does, each step reads on its own.
    long = [(node.name, node.end_lineno - node.lineno + 1)
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > 80]
    assert long == []
