"""Where customers reach this site: the one base for absolute links in mail and SMS."""

from __future__ import annotations

from django.conf import settings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def public_url() -> str:
    """PEYVAND_PUBLIC_URL without a trailing slash; the local demo address when unset."""
    return (settings.PEYVAND_PUBLIC_URL or DEFAULT_PUBLIC_URL).rstrip("/")
