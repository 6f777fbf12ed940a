"""The local SMTP servers (mail catcher, inbound bounces) share how they are run."""

from __future__ import annotations

import asyncio
import signal


def make_controller(handler, host: str, port: int, max_size: int):
    """An aiosmtpd Controller (not started): `start()` serves in a thread, `stop()` ends it."""
    from aiosmtpd.controller import Controller

    return Controller(handler, hostname=host, port=port, data_size_limit=max_size,
                      decode_data=False, ready_timeout=10)


def serve_until_stopped(controller) -> None:
    """Start the controller and block until SIGINT or SIGTERM."""
    controller.start()
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()
        loop.close()
