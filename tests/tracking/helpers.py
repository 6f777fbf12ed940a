"""Tokens as if the message had gone out an hour ago (a hit right after sending is a machine's)."""

from __future__ import annotations

import time

from peyvand.tracking.links import KIND_CLICK, KIND_OPEN, Hit, seal

HOUR_AGO = 3600


def open_token(message_id: int, contact_id: int, ago: int = HOUR_AGO) -> str:
    return seal(Hit(KIND_OPEN, message_id, contact_id, int(time.time()) - ago))


def click_token(message_id: int, contact_id: int, url: str, topic: str = "",
                ago: int = HOUR_AGO) -> str:
    return seal(Hit(KIND_CLICK, message_id, contact_id, int(time.time()) - ago, url, topic))


def environ(path: str, ua: str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
            "Firefox/128.0", method: str = "GET") -> dict:
    return {"PATH_INFO": path, "REQUEST_METHOD": method, "HTTP_USER_AGENT": ua}


def call(app, env: dict) -> tuple[str, dict, bytes]:
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(env, start_response))
    return seen["status"], seen["headers"], body
