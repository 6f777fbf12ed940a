"""Optional DKIM signing: what mime builds, signed by messaging.dkim, verifies with dkimpy (an
independent implementation), RSA and Ed25519, 8-bit and base64 bodies, folded headers; a
changed body or header fails; the sender signs when a key is set."""

from __future__ import annotations

import base64
import email
import email.policy

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from peyvand.messaging.dkim import DkimError, DkimSigner
from tests.messaging.test_mime import build


def _keys(kind: str):
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
        record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, record


@pytest.fixture(scope="module", params=["rsa", "ed25519"])
def signer_and_dns(request):
    pem, record = _keys(request.param)
    signer = DkimSigner(domain="shop.example", selector="pv1", private_key_pem=pem)

    def dns(name, timeout=5):
        assert name == b"pv1._domainkey.shop.example."
        return record

    return signer, dns


def _verifies(message: bytes, dns) -> bool:
    return dkimpy.verify(message, dnsfunc=dns)


@pytest.mark.parametrize("eight_bit", [False, True])
def test_signed_messages_verify(signer_and_dns, eight_bit):
    signer, dns = signer_and_dns
    long_subject = "پیشنهادهای ویژه این هفته فروشگاه پیوند برای مشتریان وفادار " * 3
    raw = build(subject=long_subject, html="<p>سلام سارا</p>\n<p>.نقطه</p>\n",
                text="سلام\n.line with a dot\n\n\n", eight_bit=eight_bit)
    signed = signer.sign(raw)
    assert _verifies(signed, dns)
    msg = email.message_from_bytes(signed, policy=email.policy.default)
    assert not msg.defects and "DKIM-Signature" in msg
    assert f"a={signer.algorithm}" in str(msg["DKIM-Signature"])
    assert all(len(line) <= 998 for line in signed.split(b"\r\n"))


def test_a_change_breaks_the_signature(signer_and_dns):
    signer, dns = signer_and_dns
    signed = signer.sign(build(eight_bit=True))
    assert not _verifies(signed.replace("سلام".encode(), "بدرود".encode()), dns)
    assert not _verifies(signed.replace(b"Subject: ", b"Subject: Re: ", 1), dns)


def test_relaxed_headers_survive_refolding(signer_and_dns):
    signer, dns = signer_and_dns
    signed = signer.sign(build())
    head, _, body = signed.partition(b"\r\n\r\n")
    refolded = head.replace(b"Subject: ", b"Subject:   \t", 1)  # a relay's whitespace
    assert _verifies(refolded + b"\r\n\r\n" + body, dns)


def test_keys_that_cannot_sign_are_refused():
    with pytest.raises(DkimError):
        DkimSigner(domain="shop.example", selector="pv1", private_key_pem=b"not a key")
    pem, _ = _keys("rsa")
    with pytest.raises(DkimError):
        DkimSigner(domain="shop.example", selector="bad selector", private_key_pem=pem)


def test_the_sender_signs_when_a_key_is_set(make_contact, template, owner_actor, settings,
                                          tmp_path):
    from peyvand.messaging.actions import do_create_broadcast
    from peyvand.messaging.models import StrategyRule
    from peyvand.messaging.sender import Sender
    from peyvand.messaging.smtp import SmtpConfig
    from tests.messaging.sink import start_sink

    pem, record = _keys("rsa")
    (tmp_path / "dkim.pem").write_bytes(pem)
    settings.PEYVAND_DKIM_KEY_FILE = str(tmp_path / "dkim.pem")
    settings.PEYVAND_DKIM_SELECTOR, settings.PEYVAND_DKIM_DOMAIN = "pv1", "shop.example"
    StrategyRule.objects.all().delete()
    make_contact("signed@example.com", tags=["dkim"])
    do_create_broadcast(owner_actor, template("dkim"), "dkim")
    controller, handler = start_sink()
    try:
        config = SmtpConfig(host="127.0.0.1", port=controller.port,
                            from_address="news@shop.example", connections=1)
        assert Sender(config=config).run().sent == 1
    finally:
        controller.stop()
    (_from, _to, data) = handler.received[0]
    assert data.startswith(b"DKIM-Signature: ")
    assert dkimpy.verify(data, dnsfunc=lambda name, timeout=5: record)
