"""The default gateway: keeps every SMS as a row to look at, sends nothing.

Rows go to mailcatcher's CaughtSms (shown beside caught mail) when that app is installed,
else to tracking's own CatcherSms."""

from __future__ import annotations

from peyvand.tracking.sms.base import DELIVERED, UNKNOWN


def store():
    from django.apps import apps

    if apps.is_installed("peyvand.mailcatcher"):
        from peyvand.mailcatcher.models import CaughtSms

        return CaughtSms
    from peyvand.tracking.models import CatcherSms

    return CatcherSms


class CatcherGateway:
    name = "catcher"

    def send(self, to_e164: str, text: str) -> str:
        return f"c{store().objects.create(to=to_e164, text=text).pk}"

    def send_bulk(self, to_e164: list[str], text: str) -> list[str]:
        return [self.send(to, text) for to in to_e164]

    def status(self, ids: list[str]) -> dict[str, str]:
        pks = {int(i[1:]): i for i in ids if i[:1] == "c" and i[1:].isdigit()}
        found = set(store().objects.filter(pk__in=pks).values_list("pk", flat=True))
        result = dict.fromkeys(ids, UNKNOWN)
        result.update({i: DELIVERED for pk, i in pks.items() if pk in found})
        return result
