"""A local server speaking just enough of Kavenegar's and SMS.ir's HTTP APIs."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeSms:
    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: dict[str, int] = {}  # message id -> provider status code
        self.next_id = 1000
        self.key = "KEY123"
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, code, body):
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                state.handle(self, "GET", b"")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                state.handle(self, "POST", self.rfile.read(length))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def handle(self, h, method, body):
        url = urlsplit(h.path)
        record = {"method": method, "path": url.path, "query": parse_qs(url.query),
                  "headers": {k.lower(): v for k, v in h.headers.items()}, "body": body}
        self.requests.append(record)
        # --- Kavenegar ---
        if url.path.startswith("/kavenegar/v1/"):
            key = url.path.split("/")[3]
            if key != self.key:
                return h._reply(401, {"return": {"status": 401, "message": "API-Key نامعتبر"},
                                      "entries": None})
            if url.path.endswith("/sms/send.json"):
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                record["form"] = form
                entries = []
                for receptor in form["receptor"].split(","):
                    mid = self.new_id()
                    self.statuses[str(mid)] = 1
                    entries.append({"messageid": mid, "message": form["message"], "status": 1,
                                    "statustext": "در صف ارسال", "sender": form.get("sender"),
                                    "receptor": receptor, "date": 1714806129, "cost": 1200})
                return h._reply(200, {"return": {"status": 200, "message": "تایید شد"},
                                      "entries": entries})
            if url.path.endswith("/sms/status.json"):
                ids = record["query"]["messageid"][0].split(",")
                entries = [{"messageid": int(i), "status": self.statuses.get(i, 100),
                            "statustext": ""} for i in ids]
                return h._reply(200, {"return": {"status": 200, "message": "تایید شد"},
                                      "entries": entries})
        # --- SMS.ir ---
        if url.path.startswith("/smsir/v1/"):
            if h.headers.get("X-API-KEY") != self.key:
                return h._reply(401, {"status": 0, "message": "کلید نامعتبر", "data": None})
            if url.path == "/smsir/v1/send/bulk" and method == "POST":
                data = json.loads(body)
                record["json"] = data
                ids = [self.new_id() for _ in data["mobiles"]]
                for i in ids:
                    self.statuses[str(i)] = 3
                return h._reply(200, {"status": 1, "message": "موفق",
                                      "data": {"packId": "b5c5-…", "messageIds": ids,
                                               "cost": 1.0 * len(ids)}})
            if url.path.startswith("/smsir/v1/send/") and method == "GET":
                mid = url.path.rsplit("/", 1)[1]
                if mid not in self.statuses:
                    return h._reply(200, {"status": 0, "message": "یافت نشد", "data": None})
                return h._reply(200, {"status": 1, "message": "موفق", "data": {
                    "messageId": int(mid), "mobile": 9121234567, "messageText": "…",
                    "sendDateTime": 1714806129, "lineNumber": 30007732, "cost": 1.0,
                    "deliveryState": self.statuses[mid], "deliveryDateTime": None}})
        return h._reply(404, {"message": "not found"})
