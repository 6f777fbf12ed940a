"""The sending worker as a process: `python -m peyvand.messaging.worker [--forever]`.

Prints one line at the end; a restart after a crash logs how many messages were in flight.
With a big backlog it starts helper senders (`--processes`, default one per CPU), which are
this same module with `--processes 1`."""

from __future__ import annotations

import argparse
import gc
import logging
import os


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    from peyvand.messaging.sender import SenderBusy, send_all

    # What is loaded now lives as long as the process: the collector need not walk it again
    # at each full collection while sending, nor at exit (~0.15 s), and a forked helper
    # shares these pages instead of copying them when the collector would touch them.
    gc.freeze()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(prog="peyvand-sender")
    parser.add_argument("--forever", action="store_true")
    parser.add_argument("--connections", type=int)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--processes", type=int)
    parser.add_argument("--max-seconds", type=float)
    args = parser.parse_args()
    try:
        stats = send_all(connections=args.connections, batch=args.batch,
                         processes=args.processes, until_empty=not args.forever,
                         max_seconds=args.max_seconds)
    except SenderBusy:
        print("another sender is running", flush=True)
        return 3
    print(stats.line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
