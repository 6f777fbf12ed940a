"""SMS.ir REST API v1.

    send:   POST {base}/v1/send/bulk   X-API-KEY: …   {"lineNumber", "messageText", "mobiles"}
    report: GET  {base}/v1/send/{messageId}
Both answer {"status": 1, "message": …, "data": {...}}; status 1 is success.
"""

from __future__ import annotations

from peyvand.messaging.channels.sms.base import (
    DELIVERED,
    FAILED,
    SENT,
    UNKNOWN,
    SmsError,
    http_json,
    iran_national,
)

DEFAULT_BASE = "https://api.sms.ir"
# deliveryState in SMS.ir's report (their docs).
# Looked up with whatever the JSON holds: an unexpected value is simply unknown.
STATES: dict[object, str] = {1: DELIVERED, 2: FAILED, 3: SENT, 4: FAILED, 5: SENT, 6: FAILED,
                             7: FAILED}
MAX_MOBILES = 100


class SmsIrGateway:
    name = "smsir"

    def __init__(self, api_key: str, line: str = "", base_url: str = DEFAULT_BASE):
        if not api_key:
            raise ValueError("SMS.ir needs an API key: smsir://APIKEY@?line=…")
        self.api_key, self.line, self.base = api_key, line, base_url.rstrip("/")

    def _call(self, method: str, path: str, body=None) -> dict:
        reply = http_json(method, f"{self.base}{path}", json_body=body,
                          headers={"X-API-KEY": self.api_key})
        if reply.get("status") != 1:
            raise SmsError(f"SMS.ir {reply.get('status')}: {reply.get('message') or 'error'}")
        return reply.get("data") or {}

    def send(self, to_e164: str, text: str) -> str:
        return self.send_bulk([to_e164], text)[0]

    def send_bulk(self, to_e164: list[str], text: str) -> list[str]:
        ids: list[str] = []
        line = int(self.line) if self.line.isdigit() else self.line
        for start in range(0, len(to_e164), MAX_MOBILES):
            chunk = to_e164[start:start + MAX_MOBILES]
            data = self._call("POST", "/v1/send/bulk", {
                "lineNumber": line, "messageText": text,
                "mobiles": [iran_national(t) for t in chunk], "sendDateTime": None})
            message_ids = data.get("messageIds") or []
            if len(message_ids) != len(chunk):
                raise SmsError("SMS.ir returned fewer message ids than mobiles")
            ids += [str(i) for i in message_ids]
        return ids

    def status(self, ids: list[str]) -> dict[str, str]:
        result = {}
        for message_id in ids:
            try:
                data = self._call("GET", f"/v1/send/{int(message_id)}")
            except (SmsError, ValueError):
                result[message_id] = UNKNOWN
                continue
            result[message_id] = STATES.get(data.get("deliveryState"), UNKNOWN)
        return result
