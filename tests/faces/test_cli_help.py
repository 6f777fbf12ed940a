import argparse

import pytest

from peyvand.cli import build_parser


def command_paths(parser=None, path=()):
    """Every command and subcommand the parser knows, including those other apps add."""
    parser = parser or build_parser()
    yield list(path)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*path, name))


@pytest.mark.django_db
def test_the_core_commands_exist():
    paths = {" ".join(p) for p in command_paths()}
    assert {"up", "migrate", "worker", "demo", "createuser", "token create",
            "contacts export", "contacts erase"} <= paths


@pytest.mark.django_db
def test_every_command_has_help(cli):
    for command in command_paths():
        code, out, err = cli(*command, "--help")
        assert code == 0, command
        assert out.startswith(f"usage: peyvand {' '.join(command)}".rstrip()), command
        assert err == ""


def test_subcommand_help_describes_options(cli):
    _code, out, _err = cli("contacts", "export", "--help")
    for option in ("--format", "--output", "--contact", "--as"):
        assert option in out
    _code, out, _err = cli("createuser", "--help")
    assert "{owner,marketer,reviewer,support,analyst}" in out


@pytest.mark.parametrize("args", [[], ["nonsense"], ["token"], ["contacts", "export"],
                                  ["createuser", "x", "--role", "king", "--password", "p"],
                                  ["up", "--port", "99999"], ["contacts", "erase", "abc"]])
def test_usage_errors_go_to_stderr_with_exit_2(cli, args):
    code, out, err = cli(*args)
    assert code == 2
    assert out == ""
    assert "usage: peyvand" in err and "error:" in err


@pytest.mark.django_db
def test_migrate_runs(cli):
    code, _out, err = cli("migrate", "-v", "0")
    assert code == 0 and err == ""
