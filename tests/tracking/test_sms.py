from __future__ import annotations

import pytest

from peyvand.contacts.models import TimelineEvent
from peyvand.messaging.channels.sms import SmsError, gateway_from_url, get_gateway
from peyvand.messaging.channels.sms.catcher import CatcherGateway, store
from peyvand.messaging.channels.sms.kavenegar import KavenegarGateway
from peyvand.messaging.channels.sms.segments import count, ensure_stop_footer
from peyvand.messaging.channels.sms.smsir import SmsIrGateway
from peyvand.tracking.actions import poll_sms_statuses, send_sms

from .fake_sms import FakeSms


@pytest.mark.parametrize(("text", "expected"), [
    ("", ("gsm7", 0, 0)),
    ("Hello", ("gsm7", 1, 5)),
    ("a" * 160, ("gsm7", 1, 160)),
    ("a" * 161, ("gsm7", 2, 161)),
    ("a" * 306, ("gsm7", 2, 306)),
    ("a" * 307, ("gsm7", 3, 307)),
    ("€" * 80, ("gsm7", 1, 160)),  # extension characters count double
    ("Price: 10€ [sale]", ("gsm7", 1, 20)),
    ("a" * 152 + "€", ("gsm7", 1, 154)),
    ("سلام", ("ucs2", 1, 4)),
    ("س" * 70, ("ucs2", 1, 70)),
    ("س" * 71, ("ucs2", 2, 71)),
    ("س" * 134, ("ucs2", 2, 134)),
    ("س" * 135, ("ucs2", 3, 135)),
    ("Hello سارا", ("ucs2", 1, 10)),  # one Persian letter makes all of it UCS-2
    ("کد تخفیف: OFF20 ۱۴۰۳", ("ucs2", 1, 20)),
    ("Hi 😀", ("ucs2", 1, 5)),  # an emoji outside the BMP takes two code units
    ("😀" * 35, ("ucs2", 1, 70)),
    ("😀" * 36, ("ucs2", 2, 72)),
])
def test_segment_counting(text, expected):
    assert count(text) == expected


def test_a_surrogate_pair_is_not_split_across_parts():
    # 66 units + an emoji (2) does not fit 67: the emoji starts part two.
    assert count("س" * 66 + "😀" + "س" * 10)[1] == 2
    assert count("س" * 66 + "😀" + "س" * 10)[2] == 78


def test_stop_footer_is_added_once():
    text = ensure_stop_footer("حراج بهاره تا ۳۰٪ تخفیف  ")
    assert text == "حراج بهاره تا ۳۰٪ تخفیف\nلغو ۱۱"
    assert ensure_stop_footer(text) == text
    assert ensure_stop_footer("Sale!\nلغو 11") == "Sale!\nلغو 11"


def test_gateway_urls(settings):
    settings.PEYVAND_SMS_URL = ""
    assert isinstance(get_gateway(), CatcherGateway)
    kave = gateway_from_url("kavenegar://ABC@?sender=10004346")
    assert isinstance(kave, KavenegarGateway) and (kave.api_key, kave.sender) == ("ABC",
                                                                                  "10004346")
    assert kave.base == "https://api.kavenegar.com/v1"
    smsir = gateway_from_url("smsir://XYZ@?line=30007732&base=http://127.0.0.1:9/")
    assert isinstance(smsir, SmsIrGateway) and smsir.line == "30007732"
    assert smsir.base == "http://127.0.0.1:9"
    with pytest.raises(ValueError):
        gateway_from_url("twilio://x@")
    with pytest.raises(ValueError):
        gateway_from_url("kavenegar://")


def test_catcher_keeps_the_sms_and_reports_it_delivered(contact):
    sent = send_sms("۰۹۱۲۱۲۳۴۵۶۷", "تخفیف ویژه", contact_id=contact.pk, marketing=True,
                    gateway=CatcherGateway())
    caught = store().objects.get()
    assert caught.to == "+989121234567" and caught.text == "تخفیف ویژه\nلغو ۱۱"
    assert (sent.gateway, sent.provider_id, sent.parts) == ("catcher", f"c{caught.pk}", 1)
    assert poll_sms_statuses(CatcherGateway()) == 1
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert TimelineEvent.objects.filter(contact=contact, kind="message.delivered").count() == 1
    assert poll_sms_statuses(CatcherGateway()) == 0  # final: not asked again


def test_kavenegar_adapter_against_a_fake_server(contact):
    with FakeSms() as fake:
        gateway = gateway_from_url(f"kavenegar://KEY123@?sender=10004346&base={fake.base}"
                                   "/kavenegar/v1")
        sent = send_sms("+989121234567", "سلام سارا", contact_id=contact.pk, message_id=5,
                        gateway=gateway)
        request = fake.requests[-1]
        assert request["method"] == "POST" and request["path"] == (
            "/kavenegar/v1/KEY123/sms/send.json")
        assert request["form"] == {"receptor": "09121234567", "message": "سلام سارا",
                                   "sender": "10004346"}
        assert gateway.send_bulk(["+989121234567", "+989351234567"], "hi") == [
            str(fake.next_id - 1), str(fake.next_id)]
        assert fake.requests[-1]["form"]["receptor"] == "09121234567,09351234567"

        assert poll_sms_statuses(gateway) == 0  # still queued: no change
        fake.statuses[sent.provider_id] = 10
        assert poll_sms_statuses(gateway) == 1
        assert fake.requests[-1]["query"]["messageid"] == [sent.provider_id]
        sent.refresh_from_db()
        assert sent.status == "delivered"
        assert gateway.status([sent.provider_id, "999"]) == {sent.provider_id: "delivered",
                                                              "999": "unknown"}

        bad = gateway_from_url(f"kavenegar://WRONG@?base={fake.base}/kavenegar/v1")
        with pytest.raises(SmsError, match="401"):
            bad.send("+989121234567", "x")


def test_smsir_adapter_against_a_fake_server(contact):
    with FakeSms() as fake:
        gateway = gateway_from_url(f"smsir://KEY123@?line=30007732&base={fake.base}/smsir")
        sent = send_sms("09121234567", "Sale 😀", contact_id=contact.pk, gateway=gateway)
        request = fake.requests[-1]
        assert request["path"] == "/smsir/v1/send/bulk" and request["headers"]["x-api-key"] == (
            "KEY123")
        assert request["json"] == {"lineNumber": 30007732, "messageText": "Sale 😀",
                                   "mobiles": ["09121234567"], "sendDateTime": None}
        fake.statuses[sent.provider_id] = 2  # not delivered to the handset
        assert poll_sms_statuses(gateway) == 1
        assert fake.requests[-1]["path"] == f"/smsir/v1/send/{sent.provider_id}"
        sent.refresh_from_db()
        assert sent.status == "failed"
        failed = TimelineEvent.objects.get(contact=contact, kind="message.failed")
        assert failed.data == {"message_id": None, "channel": "sms", "gateway": "smsir"}
        assert gateway.status(["424242"]) == {"424242": "unknown"}
        with pytest.raises(SmsError):
            gateway_from_url(f"smsir://NOPE@?line=1&base={fake.base}/smsir").send(
                "+989121234567", "x")


def test_unreachable_gateway_is_an_sms_error():
    gateway = gateway_from_url("smsir://K@?line=1&base=http://127.0.0.1:9")
    with pytest.raises(SmsError):
        gateway.send("+989121234567", "x")
