"""`peyvand createuser`, `peyvand token …` and `peyvand twofactor …`, and the acting user
every other app's commands run as (`actor_of(args)`: --as USER, or the shell operator)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from peyvand.cli_common import (
    EXIT_DENIED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
    _,
    acting_parser,
    command_group,
)


def actor_of(args: argparse.Namespace):
    """The user named by --as (or PEYVAND_USER), else the operator at the shell."""
    from django.contrib.auth import get_user_model

    from peyvand.base.actor import Actor

    # PEYVAND_USER belongs to the shell, like --as: not a setting of the site.
    name = getattr(args, "as_user", None) or os.environ.get("PEYVAND_USER", "").strip()
    if not name:
        return Actor.operator()
    user = (get_user_model().objects.select_related("profile")
            .filter(username__iexact=name).first())
    if user is None:
        raise CommandFailed(_("There is no user named “%(name)s”.") % {"name": name})
    if not user.is_active:
        raise CommandFailed(_("The user “%(name)s” is deactivated.") % {"name": name},
                            EXIT_DENIED)
    return Actor.for_user(user, "cli")


def _user(name: str):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username__iexact=name).first()
    if user is None:
        raise CommandFailed(_("There is no user named “%(name)s”.") % {"name": name})
    return user


def cmd_createuser(args: argparse.Namespace) -> int:
    from django.core.exceptions import ValidationError

    from peyvand.accounts.actions import do_create_user

    actor = actor_of(args)
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            raise CommandFailed(_("Give a password with --password."), EXIT_USAGE)
        password = getpass.getpass(_("Password: "))
        if getpass.getpass(_("Password (again): ")) != password:
            raise CommandFailed(_("The two passwords differ."))
    try:
        user = do_create_user(actor, args.name, role=args.role, password=password,
                              language=args.language, email=args.email)
    except ValidationError as exc:
        raise CommandFailed("\n".join(exc.messages))
    print(_("Created user “%(name)s” with the role %(role)s.")
          % {"name": user.get_username(), "role": args.role})
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    import datetime as dt

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from peyvand.accounts.actions import do_create_token

    actor = actor_of(args)
    user = _user(args.name)
    expires = timezone.now() + dt.timedelta(days=args.expires) if args.expires else None
    try:
        key = do_create_token(actor, user, args.label, expires_at=expires)
    except ValidationError as exc:
        raise CommandFailed("\n".join(exc.messages))
    # Only the key on stdout, so `TOKEN=$(peyvand token create NAME)` works.
    print(key)
    return EXIT_OK


def _moment(value) -> str:
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def cmd_token_list(args: argparse.Namespace) -> int:
    from peyvand.accounts.queries import visible_tokens
    from peyvand.base.roles import require

    actor = actor_of(args)
    tokens = visible_tokens(actor)
    if args.name:
        user = _user(args.name)
        if actor.user is None or actor.user.pk != user.pk:
            require(actor, "users.manage")
        tokens = tokens.filter(user=user)
    from peyvand.accounts.models import ApiToken

    shown = [t for t in tokens if args.all or t.state() == ApiToken.State.ACTIVE]
    # Tab-separated, one token a line, for people and for scripts alike.
    print("\t".join(["id", "user", "name", "prefix", "state", "created", "expires",
                     "last_used"]))
    for t in shown:
        print("\t".join([str(t.pk), t.user.get_username(), t.name or "-", t.prefix, t.state(),
                         _moment(t.created_at), _moment(t.expires_at),
                         _moment(t.last_used_at)]))
    return EXIT_OK


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from django.http import Http404

    from peyvand.accounts.actions import do_revoke_token
    from peyvand.accounts.queries import access_token, visible_tokens

    actor = actor_of(args)
    given = args.token.strip()
    try:
        if given.isdigit():
            token = access_token(actor, int(given))
        else:  # the prefix `token list` shows, or the whole key
            found = list(visible_tokens(actor).filter(prefix=given[:12]))
            if len(found) != 1:
                raise Http404
            token = found[0]
    except Http404:
        raise CommandFailed(_("There is no token “%(token)s” that you may see.")
                            % {"token": given})
    if do_revoke_token(actor, token):
        print(_("Token %(prefix)s… of %(name)s revoked.")
              % {"prefix": token.prefix, "name": token.user.get_username()})
    else:
        print(_("Token %(prefix)s… was revoked already.") % {"prefix": token.prefix})
    return EXIT_OK


def cmd_twofactor_list(args: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from peyvand.accounts.twofactor import is_required
    from peyvand.base.roles import require

    require(actor_of(args), "users.manage")
    with_device = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id",
                                                                           flat=True))
    print("\t".join(["user", "role", "two_factor", "required"]))
    for user in get_user_model().objects.select_related("profile").order_by("username"):
        role = getattr(getattr(user, "profile", None), "role", "")
        print("\t".join([user.get_username(), role or "-",
                         "on" if user.pk in with_device else "off",
                         "yes" if is_required(user) else "no"]))
    return EXIT_OK


def cmd_twofactor_reset(args: argparse.Namespace) -> int:
    from peyvand.accounts.twofactor import do_reset_two_factor

    actor = actor_of(args)
    user = _user(args.name)
    if do_reset_two_factor(actor, user):
        print(_("Two-factor sign-in of %(name)s was reset; they set it up again at their "
                "next sign-in.") % {"name": user.get_username()})
    else:
        print(_("%(name)s had no two-factor sign-in; nothing changed.")
              % {"name": user.get_username()})
    return EXIT_OK


def _days(value: str) -> int:
    from peyvand.base.normalise import ascii_digits

    try:
        number = int(ascii_digits(value))
    except ValueError:
        number = 0
    if not 1 <= number <= 3650:
        raise argparse.ArgumentTypeError(_("A number of days from 1 to 3650."))
    return number


def add_commands(commands) -> None:
    """Add `createuser`, `token` and `twofactor` to the `peyvand` command."""
    from peyvand.base.roles import ROLES

    acting = acting_parser()
    createuser = commands.add_parser("createuser", parents=[acting],
                                     help=_("create a user with a role"),
                                     description=_("Create a user who can sign in."))
    createuser.add_argument("name", metavar="NAME", help=_("user name"))
    createuser.add_argument("--role", required=True, choices=ROLES, help=_("their role"))
    createuser.add_argument("--password", metavar="PW",
                            help=_("their password (asked for on a terminal when left out)"))
    createuser.add_argument("--language", choices=["fa", "en"], default="fa",
                            help=_("their interface language (default: %(default)s)"))
    createuser.add_argument("--email", default="", help=_("their e-mail address"))
    createuser.set_defaults(func=cmd_createuser)

    token_commands = command_group(commands, "token", help=_("API tokens"),
                                   description=_("Manage API tokens."))
    token_create = token_commands.add_parser(
        "create", parents=[acting], help=_("create an API token and print it"),
        description=_("Create an API token that acts as user NAME and print only the token."))
    token_create.add_argument("name", metavar="NAME", help=_("the user the token acts as"))
    token_create.add_argument("--label", default="cli",
                              help=_("a note to recognise the token by (default: %(default)s)"))
    token_create.add_argument("--expires", type=_days, metavar="DAYS",
                              help=_("the token stops working after this many days (default: "
                                     "never; revoke it when no longer needed)"))
    token_create.set_defaults(func=cmd_token_create)
    token_list = token_commands.add_parser(
        "list", parents=[acting], help=_("list API tokens"),
        description=_("List API tokens, with when each was created, expires and was last "
                      "used: your own, or everyone's for an owner and the server operator."))
    token_list.add_argument("name", metavar="NAME", nargs="?",
                            help=_("only this user's tokens"))
    token_list.add_argument("--all", action="store_true",
                            help=_("also revoked and expired tokens"))
    token_list.set_defaults(func=cmd_token_list)
    token_revoke = token_commands.add_parser(
        "revoke", parents=[acting], help=_("revoke an API token"),
        description=_("Revoke an API token for good. TOKEN is its id or prefix from "
                      "`peyvand token list`."))
    token_revoke.add_argument("token", metavar="TOKEN", help=_("the token's id or prefix"))
    token_revoke.set_defaults(func=cmd_token_revoke)

    twofactor_commands = command_group(
        commands, "twofactor", help=_("two-factor sign-in"),
        description=_("Who signs in with a one-time code, and resetting it for someone who "
                      "lost their phone."))
    twofactor_list = twofactor_commands.add_parser(
        "list", parents=[acting], help=_("who has two-factor sign-in"),
        description=_("List the users, whether each has two-factor sign-in, and whether it "
                      "is required of them."))
    twofactor_list.set_defaults(func=cmd_twofactor_list)
    twofactor_reset = twofactor_commands.add_parser(
        "reset", parents=[acting], help=_("remove a user's authenticator"),
        description=_("Remove the authenticator of user NAME (a lost phone); they set up a "
                      "new one at their next sign-in."))
    twofactor_reset.add_argument("name", metavar="NAME", help=_("user name"))
    twofactor_reset.set_defaults(func=cmd_twofactor_reset)
