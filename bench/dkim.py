"""DKIM signing benchmark: how many of our ~11 KB personalised messages one process signs per
second (messaging.dkim: body hash, relaxed headers, the private-key operation in OpenSSL),
against `openssl speed` doing only the private-key operation, in the same run.

    .venv/bin/python bench/dkim.py [--seconds 3]

Prints msg/s per key type, the ratio to openssl's sign/s (the floor: nothing faster can sign
a message), and peak RSS. Needs the openssl command.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def openssl_sign_rate(algorithm: str, seconds: int) -> float:
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), algorithm],
                         capture_output=True, text=True, check=True).stdout
    line = [row for row in out.splitlines() if re.search(r"\d+(\.\d+)?\s+\d+(\.\d+)?$", row)][-1]
    return float(line.split()[-2])  # sign/s, verify/s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from send import HTML

    from peyvand.messaging.dkim import DkimSigner
    from peyvand.messaging.mime import MimeTemplate

    mime = MimeTemplate(from_name="فروشگاه پیوند", from_address="news@shop.example",
                        domain="shop.example")
    html = HTML.replace("{{ first_name }}", "مریم").replace("{{ fields.city }}", "تهران")
    messages = [mime.build(to_name=f"مریم {i}", to_address=f"u{i}@example.com",
                           subject=f"پیشنهادهای این هفته برای مریم {i}", text=html,
                           html=html, message_id=mime.message_id(i), eight_bit=True,
                           unsubscribe=[f"<https://crm.example/consent/o/{i}/>"])
                for i in range(200)]
    print(f"message size {len(messages[0]):,} bytes")
    print(f"{'key':>8} {'openssl sign/s':>15} {'peyvand msg/s':>14} {'ratio':>6}")
    for name, key, floor_name in (
            ("rsa2048", rsa.generate_private_key(public_exponent=65537, key_size=2048),
             "rsa2048"),
            ("ed25519", ed25519.Ed25519PrivateKey.generate(), "ed25519")):
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        signer = DkimSigner(domain="shop.example", selector="pv1", private_key_pem=pem)
        floor = openssl_sign_rate(floor_name, args.seconds)
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < args.seconds:
            for message in messages:
                signer.sign(message)
            count += len(messages)
        rate = count / (time.perf_counter() - started)
        print(f"{name:>8} {floor:>15,.0f} {rate:>14,.0f} {rate / floor:>6.2f}", flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
