"""Set-up and inspection for the crash test, run in a subprocess against a real database
(PEYVAND_HOME / DATABASE_URL from the environment).

python tests/messaging/crash_helper.py setup N     -> migrate, N contacts, queue a broadcast
python tests/messaging/crash_helper.py report      -> JSON: states, flagged, addresses
"""

from __future__ import annotations

import json
import os
import sys


def setup(n: int) -> None:
    from django.core.management import call_command

    from tests.messaging.processes import seed_consenting_contacts

    call_command("migrate", verbosity=0)

    from peyvand.base.actor import Actor
    from peyvand.contacts.models import ContactTag, Tag
    from peyvand.messaging.actions import do_create_broadcast
    from peyvand.messaging.models import MessageTemplate

    ids = seed_consenting_contacts(n)
    tag = Tag.objects.create(name="crash")
    ContactTag.objects.bulk_create([ContactTag(contact_id=cid, tag=tag) for cid in ids],
                                   batch_size=2000)
    MessageTemplate.objects.create(
        name="news", language="fa", subject="خبر {{ first_name }}",
        html="<p>سلام {{ first_name }}، پیشنهاد این هفته.</p>")
    item = do_create_broadcast(Actor.system("crash-test"), "news", "crash")
    print(json.dumps({"broadcast": item.pk, "queued": item.queued_count}))


def report() -> None:
    from django.db.models import Count

    from peyvand.messaging.models import OutboxMessage

    states = dict(OutboxMessage.objects.values_list("state").annotate(n=Count("id")))
    print(json.dumps({
        "states": states,
        "flagged": OutboxMessage.objects.filter(resent_after_crash=True).count(),
        "addresses": list(OutboxMessage.objects.values_list("to_address", flat=True)),
    }))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    if sys.argv[1] == "setup":
        setup(int(sys.argv[2]))
    else:
        report()
