"""DKIM signatures (RFC 6376) for the messages mime.MimeTemplate builds; optional.

c=relaxed/simple: headers in relaxed form (they may be refolded on the way), the body as sent
(our bodies are canonical CRLF already, so "simple" costs one hash and no rewriting). RSA
keys sign rsa-sha256, Ed25519 keys ed25519-sha256 (RFC 8463). The private-key operation runs
in OpenSSL through `cryptography` (~0.9 ms for RSA-2048 here, against ~7 ms in dkimpy's
pure-Python RSA); dkimpy verifies our signatures in the tests.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path
from typing import Any

from django.conf import settings

# Signed when present, in this order (From is required by RFC 6376); List-Unsubscribe and
# List-Unsubscribe-Post must be (RFC 8058 §4).
SIGNED_HEADERS = ("from", "to", "subject", "date", "message-id", "mime-version",
                  "content-type", "list-unsubscribe", "list-unsubscribe-post")
# Each named once more in h= ("over-signed", RFC 6376 §8.15): a copy added on the way, above
# ours or where the message had none (a List-Unsubscribe on a receipt), breaks the signature.
OVERSIGNED = SIGNED_HEADERS
_WSP = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")


class DkimError(Exception):
    """The key cannot be used for DKIM."""


class DkimSigner:
    def __init__(self, *, domain: str, selector: str, private_key_pem: bytes):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        if not domain or not selector or not re.fullmatch(r"[A-Za-z0-9._-]+", selector + domain):
            raise DkimError("DKIM needs a domain and a selector (letters, digits, . _ -)")
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise DkimError(f"the DKIM key cannot be read: {exc}") from exc
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < 1024:
                raise DkimError("an RSA DKIM key must have at least 1024 bits")
            self.algorithm = "rsa-sha256"
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            self.algorithm = "ed25519-sha256"
        else:
            raise DkimError("a DKIM key is RSA or Ed25519")
        self._key: Any = key
        self.domain, self.selector = domain.lower(), selector

    def _sign(self, data: bytes) -> bytes:
        if self.algorithm == "rsa-sha256":
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self._key.sign(hashlib.sha256(data).digest())  # RFC 8463: Ed25519 of the hash

    def signature_header(self, message: bytes) -> bytes:
        """The `DKIM-Signature: …\\r\\n` line to put in front of `message` (CRLF lines)."""
        head, _, body = message.partition(b"\r\n\r\n")
        # simple body: as it is, but empty lines at the end count as one line end
        body = body.rstrip(b"\r\n") + b"\r\n" if body.strip(b"\r\n") else b"\r\n"
        body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        fields = _fields(head)
        names = [name for name in SIGNED_HEADERS if name in fields]
        if "from" not in names:
            raise DkimError("a message without From cannot be DKIM-signed")
        value = (f"v=1; a={self.algorithm}; c=relaxed/simple; d={self.domain}; "
                 f"s={self.selector}; t={int(time.time())}; h={':'.join(names + _OVER)}; "
                 f"bh={body_hash}; b=")
        signed = b"".join(b"%s:%s\r\n" % (name.encode(), fields[name]) for name in names)
        signed += b"dkim-signature:" + _relaxed(value.encode())
        signature = base64.b64encode(self._sign(signed)).decode()
        # folded every 72 characters of the signature (lines stay far under 998)
        folded = "\r\n\t".join(signature[i:i + 72] for i in range(0, len(signature), 72))
        return f"DKIM-Signature: {value}\r\n\t{folded}\r\n".encode()

    def sign(self, message: bytes) -> bytes:
        return self.signature_header(message) + message


def _relaxed(value: bytes) -> bytes:
    """A header value in relaxed form: unfolded, runs of blanks one space, none at the ends."""
    return _WSP.sub(b" ", _FOLD.sub(b"", value)).strip(b" ")


def _fields(head: bytes) -> dict[str, bytes]:
    """name -> relaxed value of each header signed (the last one where a name repeats, as
    DKIM signs from the bottom up)."""
    found: dict[str, bytes] = {}
    for field in _FIELD_END.split(head):
        name, sep, value = field.partition(b":")
        key = name.strip().lower().decode("ascii", "replace")
        if sep and key in _SIGNED:
            found[key] = _relaxed(value)
    return found


_FIELD_END = re.compile(rb"\r\n(?![ \t])")
_SIGNED = frozenset(SIGNED_HEADERS)
_OVER = list(OVERSIGNED)  # a name with no instance left signs as nothing (RFC 6376 §5.4.2)


def signer_from_settings() -> DkimSigner | None:
    """The signer settings ask for (PEYVAND_DKIM_KEY_FILE …), None when DKIM is off."""
    path = settings.PEYVAND_DKIM_KEY_FILE
    if not path:
        return None
    domain = settings.PEYVAND_DKIM_DOMAIN
    if not domain:
        from email.utils import parseaddr

        domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return DkimSigner(domain=domain, selector=settings.PEYVAND_DKIM_SELECTOR,
                      private_key_pem=Path(path).read_bytes())
