"""Database helpers for long-running servers (mail catcher, inbound SMTP)."""

from __future__ import annotations

from django.db import close_old_connections, connection


def refresh_connections() -> None:
    """Drop connections that died or outlived CONN_MAX_AGE, as Django does per request.

    Never inside a transaction: there the connection is in use (and in tests it holds the
    test's own transaction, which closing would lose).
    """
    if not connection.in_atomic_block:
        close_old_connections()
