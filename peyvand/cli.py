"""The `peyvand` console script."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    from django.core.management import call_command

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["migrate"]:
        call_command("migrate", interactive=False)
        return 0
    print("usage: peyvand migrate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
