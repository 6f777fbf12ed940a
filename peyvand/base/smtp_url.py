"""An SMTP server as a URL: smtp://user:pass@host:587?starttls=1, smtp+starttls://…, smtps://…:465.

One parser for both places a URL comes from: PEYVAND_SMTP_URL (parsed once, in settings.py)
and the sending settings row of the UI (messaging.smtp). It imports nothing of Django so that
settings.py can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

DEFAULT_CONNECTIONS = 10


@dataclass(frozen=True)
class SmtpUrl:
    host: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False  # smtps://: TLS from the first byte
    start_tls: bool = False  # smtp+starttls:// or ?starttls=1
    connections: int = DEFAULT_CONNECTIONS  # ?connections=N: the sender's SMTP sessions


def parse_smtp_url(url: str) -> SmtpUrl:
    """The server `url` names; ValueError when it is not an SMTP URL with a host."""
    parts = urlparse(url)
    if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
        raise ValueError("An SMTP URL looks like smtp://user:pass@host:587?starttls=1")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    flag = parts.scheme == "smtp+starttls" or \
        query.get("starttls", "0").lower() in ("1", "true", "yes")
    default_port = 465 if parts.scheme == "smtps" else 587 if flag else 25
    return SmtpUrl(
        host=parts.hostname, port=parts.port or default_port,
        username=unquote(parts.username or ""), password=unquote(parts.password or ""),
        use_tls=parts.scheme == "smtps", start_tls=flag and parts.scheme != "smtps",
        connections=int(query.get("connections", DEFAULT_CONNECTIONS)))
