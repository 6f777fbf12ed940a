"""Where customers reach this site: the one base for absolute links in mail, SMS and pages.

Never the request's Host header: behind a proxy (or with a forged header) that names some
other address, and a link mailed to a customer must lead to this site.
"""

from __future__ import annotations

from django.conf import settings


def public_url() -> str:
    """PEYVAND_PUBLIC_URL without a trailing slash; the local demo address when unset."""
    return (settings.PEYVAND_PUBLIC_URL or settings.DEFAULT_PUBLIC_URL).rstrip("/")
