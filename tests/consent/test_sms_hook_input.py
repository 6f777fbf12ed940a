"""The SMS gateway hook takes JSON from outside: text no database can store is a 400 naming the
field, like everywhere else, never a stored row or a 500."""

from __future__ import annotations

import pytest

from peyvand.consent.models import ConsentChange, SmsInbound

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw, field", [
    ('{"from": "09351234567", "text": "\\ud800"}', "text"),
    ('{"from": "\\udfff", "text": "11"}', "from"),
    ('{"from": "0935\\u00001234567", "text": "11"}', "from"),
])
def test_unstorable_text_is_refused(client, raw, field):
    SmsInbound.objects.create(name="kavenegar", token="s3cret-token")
    response = client.post("/consent/hooks/sms/s3cret-token/", raw,
                           content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"] and response.json()["detail"]
    assert not ConsentChange.objects.exists()
