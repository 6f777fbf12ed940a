"""A plain WSGI callable in front of Django for the hottest URLs: /t/o/…, /t/c/… and /t/s/….

    application = fastpath.wrap(get_wsgi_application())

An open answers the 43-byte GIF whatever the token (a mail client must never show a broken
image), recording only valid ones. A valid click answers 302 to the signed target. A bad click
token goes on to Django, whose view answers the translated 400 page: never a redirect.
An SMS short link (/t/s/<code>) costs one query by its code and answers like a click; an
unknown code goes on to Django (its 404 page). Every recorded hit is in the spool before the
response leaves.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from peyvand.tracking import spool
from peyvand.tracking.links import KIND_CLICK, KIND_OPEN, BadToken, Hit, is_trackable, unseal

log = logging.getLogger(__name__)

GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
       b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
_NO_STORE = ("Cache-Control", "no-store, no-cache, must-revalidate, private")
_GIF_HEADERS = [("Content-Type", "image/gif"), ("Content-Length", str(len(GIF))), _NO_STORE]
OPEN_PREFIX, CLICK_PREFIX, SHORT_PREFIX = "/t/o/", "/t/c/", "/t/s/"
# Header values are Latin-1: a Persian path goes out percent-encoded, as Django's iri_to_uri.
_IRI_SAFE = "/#%[]=:;$&()+,!?*@'~"


def record(kind: str, token: str, user_agent: str) -> Hit | None:
    """Verify a token of `kind` and spool its hit; None (nothing recorded) when it is bad."""
    try:
        hit = unseal(token)
    except BadToken:
        return None
    if hit.kind != kind:
        return None
    spool.append(hit.kind, hit.message_id, hit.contact_id, hit.issued, hit.url, hit.topic,
                 user_agent)
    return hit


def record_short(code: str, user_agent: str) -> str | None:
    """Spool a click on an SMS short link, the same hit as a sealed click's (topic ""); its
    URL, or None (nothing recorded) for an unknown code."""
    # Imported here: this module is loaded before Django's models are ready (peyvand/wsgi.py).
    from peyvand.tracking.sms_links import find

    found = find(code)
    if found is None:
        return None
    message_id, contact_id, issued, url = found
    if not is_trackable(url):  # never a header split or a redirect elsewhere, whatever the row
        return None
    spool.append(KIND_CLICK, message_id, contact_id, issued, url, "", user_agent)
    return url


def _close_stale_connections() -> None:
    """Django's close_old_connections, which its request signals run: here no request is
    made, so a connection past its age or broken (the database restarted) is dropped by
    hand. Never inside a transaction (only tests wrap the fast path in one)."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def _short(code: str, user_agent: str) -> str | None:
    _close_stale_connections()
    try:
        return record_short(code, user_agent)
    finally:
        _close_stale_connections()


def _redirect(start_response, url: str) -> list[bytes]:
    location = url if url.isascii() else quote(url, safe=_IRI_SAFE)
    start_response("302 Found", [("Location", location), _NO_STORE, ("Content-Length", "0"),
                                 ("Referrer-Policy", "no-referrer")])
    return [b""]


def open_token(path: str) -> str:
    token = path[len(OPEN_PREFIX):]
    return token[:-4] if token.endswith(".gif") else token


def wrap(app):
    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD"):
            if path.startswith(OPEN_PREFIX):
                try:
                    record(KIND_OPEN, open_token(path), environ.get("HTTP_USER_AGENT", ""))
                except Exception:  # noqa: BLE001 - the image must load even if the spool fails
                    log.exception("tracking open not spooled")
                start_response("200 OK", list(_GIF_HEADERS))
                return [b"" if method == "HEAD" else GIF]
            if path.startswith(CLICK_PREFIX):
                hit = record(KIND_CLICK, path[len(CLICK_PREFIX):].rstrip("/"),
                             environ.get("HTTP_USER_AGENT", ""))
                if hit is not None:
                    return _redirect(start_response, hit.url)
            if path.startswith(SHORT_PREFIX):
                try:
                    url = _short(path[len(SHORT_PREFIX):].rstrip("/"),
                                 environ.get("HTTP_USER_AGENT", ""))
                except Exception:  # noqa: BLE001 - Django's view tries again (and shows why)
                    log.exception("SMS short link not answered on the fast path")
                    url = None
                if url is not None:
                    return _redirect(start_response, url)
        return app(environ, start_response)

    return application
