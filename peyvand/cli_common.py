"""The kit every app's cli.py builds its commands with: exit codes, the failure to raise, the
--as option, command groups several apps add to, and writing files of personal data.

What belongs here is what two or more app CLIs share and that needs nothing above `base`:
this module sits on the ground floor and imports only Django, the standard library and
peyvand.base. Helpers that need an app's models live in that app's cli.py (the acting user in
accounts.cli, the contact lookup in contacts.cli) and the apps above import them from there.

Each app's cli.py exposes `add_commands(subparsers)`; peyvand.cli finds it through the app
registry. Handlers take the parsed arguments and return an exit code; PermissionDenied,
base.errors.Invalid and CommandFailed are turned into exit codes once, by peyvand.cli.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import weakref
from typing import Any

from django.utils.translation import gettext as _

__all__ = ["EXIT_DENIED", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "CommandFailed", "_",
           "acting_parser", "command_group", "output_path", "write_private"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DENIED = 0, 1, 2, 3


class CommandFailed(Exception):
    """The command cannot do what was asked; the message is printed, `code` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def acting_parser() -> argparse.ArgumentParser:
    """The parent parser holding --as, for every command that acts for a user."""
    acting = argparse.ArgumentParser(add_help=False)
    acting.add_argument("--as", dest="as_user", metavar="USER",
                        help=_("act as this user, with their role (default: $PEYVAND_USER, "
                               "else the server operator with full rights)"))
    return acting


# The ACTION subparsers of each command group, so a second app can add to a group another app
# made (imports adds `contacts import` and `orders import`).
_GROUPS: weakref.WeakKeyDictionary[argparse.ArgumentParser, Any] = weakref.WeakKeyDictionary()


def command_group(subparsers: Any, name: str, **parser_options: Any) -> Any:
    """The ACTION subparsers of the command `name` (`peyvand contacts ACTION`): made with
    `parser_options` (help, description) by the app that owns the group, found again by apps
    installed after it, which give no options."""
    existing = subparsers.choices.get(name)
    if existing is not None:
        if parser_options:
            raise ValueError(f"The command group {name!r} has an owner already.")
        return _GROUPS[existing]
    if not parser_options:
        raise LookupError(f"No command group {name!r}: the app that owns it must be "
                          "installed before the apps that add to it.")
    parser = subparsers.add_parser(name, **parser_options)
    group = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
    _GROUPS[parser] = group
    return group


def output_path(path: str) -> str:
    """The absolute path of a file to write, refused when its folder does not exist."""
    output = os.path.abspath(path)
    if not os.path.isdir(os.path.dirname(output)):
        raise CommandFailed(_("The folder of %(path)s does not exist.") % {"path": path})
    return output


def write_private(path: str, text: str) -> None:
    """Write personal data readable by its owner only, replacing the file whole."""
    tmp = f"{path}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def number_type(refusal: Any) -> Any:
    """An argparse type for a thing's number (a contact, a segment, a campaign …): any
    digits, with or without its #. `refusal` (a lazy translation holding %(value)s) says
    what is wrong, in the language of the moment."""

    def parse(value: str) -> int:
        from peyvand.base.normalise import ascii_digits

        try:
            number = int(ascii_digits(value).strip().lstrip("#"))
        except ValueError:
            number = 0
        if number < 1:
            raise argparse.ArgumentTypeError(str(refusal) % {"value": value})
        return number

    return parse
