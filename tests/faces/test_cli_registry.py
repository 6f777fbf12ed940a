"""The faces know no app: they ask the app registry for each app's cli.py (and api.py)."""

from __future__ import annotations

import argparse
import textwrap

import pytest
from django.conf import settings
from django.test import override_settings

import peyvand
from peyvand.base.app_modules import app_modules
from peyvand.cli import build_parser, main
from peyvand.cli_common import command_group
from tests.faces.test_cli_help import command_paths


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install made-up Peyvand apps (name → cli.py source, None for an app without one)."""
    monkeypatch.setattr(peyvand, "__path__", [*peyvand.__path__, str(tmp_path)])

    def install(**sources: str | None):
        for name, source in sources.items():
            package = tmp_path / name
            package.mkdir()
            (package / "__init__.py").write_text("")
            if source is not None:
                (package / "cli.py").write_text(textwrap.dedent(source))
        return override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS,
                                                 *(f"peyvand.{name}" for name in sources)])

    return install


GREETER = """
    from peyvand.cli_common import CommandFailed, command_group


    def cmd_hello(args):
        if getattr(args, "fail", False):
            raise CommandFailed("no greeting today", 4)
        print("hello from the greeter")
        return 0


    def add_commands(subparsers):
        hello = subparsers.add_parser("hello", help="greet")
        hello.add_argument("--fail", action="store_true")
        hello.set_defaults(func=cmd_hello)
        # An app may add to a group another app owns.
        command_group(subparsers, "contacts").add_parser("greet").set_defaults(func=cmd_hello)
"""


def test_an_app_with_a_cli_module_adds_its_commands(installed, capsys):
    with installed(greeter_app=GREETER, bare_app=None):
        names = [module.__name__ for module in app_modules("cli")]
        assert names[-1] == "peyvand.greeter_app.cli" and "peyvand.bare_app.cli" not in names
        assert main(["hello"]) == 0
        assert capsys.readouterr().out == "hello from the greeter\n"
        assert main(["contacts", "greet"]) == 0
        assert main(["hello", "--fail"]) == 4
        assert capsys.readouterr().err == "no greeting today\n"
    assert "peyvand.greeter_app.cli" not in [module.__name__ for module in app_modules("cli")]


def test_an_app_without_a_cli_module_is_skipped(installed):
    with installed(bare_app=None):
        paths = {" ".join(path) for path in command_paths(build_parser())}
        assert "contacts export" in paths and not any("bare" in path for path in paths)


def test_a_broken_cli_module_is_not_hidden(installed):
    # find_spec, not a swallowed ImportError: a cli.py that fails to import fails loudly.
    with installed(broken_app="import peyvand.no_such_module\n"), \
            pytest.raises(ModuleNotFoundError, match="no_such_module"):
        build_parser()


def test_only_peyvand_apps_count():
    # django.contrib.messages has an `api` module too; it is not a router.
    assert [module.__name__ for module in app_modules("api")] == [
        "peyvand.accounts.api", "peyvand.contacts.api", "peyvand.commerce.api",
        "peyvand.imports.api", "peyvand.consent.api", "peyvand.insights.api",
        "peyvand.messaging.api", "peyvand.tracking.api", "peyvand.audiences.api",
        "peyvand.support.api", "peyvand.campaigns.api", "peyvand.journeys.api"]


def test_a_command_group_has_one_owner_who_comes_first():
    subparsers = argparse.ArgumentParser().add_subparsers()
    with pytest.raises(LookupError):
        command_group(subparsers, "things")
    owned = command_group(subparsers, "things", help="things")
    assert command_group(subparsers, "things") is owned
    with pytest.raises(ValueError):
        command_group(subparsers, "things", help="a second owner")
