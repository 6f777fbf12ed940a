"""Kavenegar (kavenegar.com) REST API v1.

    send:   POST {base}/{API-KEY}/sms/send.json   receptor=0912…[,0935…]&message=…&sender=…
    status: GET  {base}/{API-KEY}/sms/status.json?messageid=1,2
Both answer {"return": {"status": 200, "message": …}, "entries": [...]}.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from peyvand.messaging.channels.sms.base import (
    DELIVERED,
    FAILED,
    QUEUED,
    SENT,
    UNKNOWN,
    SmsError,
    http_json,
    iran_national,
)

DEFAULT_BASE = "https://api.kavenegar.com/v1"
# Kavenegar's numeric statuses (their docs, "وضعیت پیامک").
# Looked up with whatever the JSON holds: an unexpected value is simply unknown.
STATUSES: dict[object, str] = {1: QUEUED, 2: QUEUED, 4: SENT, 5: SENT, 6: FAILED,
                               10: DELIVERED, 11: FAILED, 13: FAILED, 14: FAILED, 100: UNKNOWN}
MAX_RECEPTORS = 200


class KavenegarGateway:
    name = "kavenegar"

    def __init__(self, api_key: str, sender: str = "", base_url: str = DEFAULT_BASE):
        if not api_key:
            raise ValueError("Kavenegar needs an API key: kavenegar://APIKEY@?sender=…")
        self.api_key, self.sender, self.base = api_key, sender, base_url.rstrip("/")

    def _url(self, method: str) -> str:
        return f"{self.base}/{quote(self.api_key, safe='')}/sms/{method}.json"

    @staticmethod
    def _entries(reply: dict) -> list[dict]:
        status = (reply.get("return") or {}).get("status")
        if status != 200:
            message = (reply.get("return") or {}).get("message") or "unknown error"
            raise SmsError(f"Kavenegar {status}: {message}")
        return reply.get("entries") or []

    def send(self, to_e164: str, text: str) -> str:
        return self.send_bulk([to_e164], text)[0]

    def send_bulk(self, to_e164: list[str], text: str) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(to_e164), MAX_RECEPTORS):
            chunk = to_e164[start:start + MAX_RECEPTORS]
            data = {"receptor": ",".join(iran_national(t) for t in chunk), "message": text}
            if self.sender:
                data["sender"] = self.sender
            entries = self._entries(http_json("POST", self._url("send"), data=data))
            if len(entries) != len(chunk):
                raise SmsError("Kavenegar returned fewer entries than receptors")
            ids += [str(e["messageid"]) for e in entries]
        return ids

    def status(self, ids: list[str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            url = self._url("status") + "?" + urlencode({"messageid": ",".join(chunk)})
            for entry in self._entries(http_json("GET", url)):
                result[str(entry.get("messageid"))] = STATUSES.get(entry.get("status"), UNKNOWN)
        return result
