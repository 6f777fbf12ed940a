"""An SMTP sink in its own process: appends "recipient<TAB>Message-ID" per accepted message to a
file, before answering 250, so everything the sender saw accepted is on record.

python tests/messaging/sink_server.py PORT FILE
"""

from __future__ import annotations

import re
import signal
import sys
import threading

from aiosmtpd.controller import Controller

_MID = re.compile(rb"^Message-ID: *(.+?)\r?$", re.M | re.I)


class Handler:
    def __init__(self, path: str):
        self.out = open(path, "ab", buffering=0)  # noqa: SIM115 (open for the server's life)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        found = _MID.search(envelope.content)
        mid = found.group(1).strip() if found else b"-"
        for rcpt in envelope.rcpt_tos:
            self.out.write(rcpt.encode() + b"\t" + mid + b"\n")
        return "250 2.0.0 Ok: queued"


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Handler(path), hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    print("ready", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
