"""The default gateway: keeps every SMS as a row to look at, sends nothing.

Messaging owns no table for them: the apps that do register one at start-up
(`register_store`). mailcatcher's CaughtSms (shown beside caught mail) is preferred; tracking's
CatcherSms is the fallback when mailcatcher is not installed."""

from __future__ import annotations

from django.apps import apps

from peyvand.messaging.channels.sms.base import DELIVERED, UNKNOWN, SmsError

# Model labels ("app.Model") registered in apps.ready(): preferred ones, then fallbacks.
STORES: dict[str, list[str]] = {"preferred": [], "fallback": []}


def register_store(label: str, *, fallback: bool = False) -> None:
    """Keep caught SMS in this model (it has `to`, `text` and an integer pk)."""
    chosen = STORES["fallback" if fallback else "preferred"]
    if label not in chosen:
        chosen.append(label)


def store():
    labels = STORES["preferred"] + STORES["fallback"]
    if not labels:
        raise SmsError("no app keeps caught SMS: install peyvand.mailcatcher or peyvand.tracking")
    return apps.get_model(labels[0])


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
