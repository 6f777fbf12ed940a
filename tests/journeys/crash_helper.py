"""Set-up and inspection for the journeys crash test, run in a subprocess against a real
database (PEYVAND_HOME / DATABASE_URL from the environment).

python tests/journeys/crash_helper.py setup N   -> migrate, N contacts enrolled in a live
                                                   3-step journey (send, wait 0, send)
python tests/journeys/crash_helper.py runs      -> JSON: step runs recorded so far
python tests/journeys/crash_helper.py report    -> JSON: what the test checks
"""

from __future__ import annotations

import json
import os
import sys


def setup(n: int) -> None:
    from django.core.management import call_command

    from tests.messaging.processes import seed_consenting_contacts

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from peyvand.base.actor import Actor
    from peyvand.journeys.actions import do_publish, do_save_journey
    from peyvand.journeys.models import Enrolment
    from peyvand.messaging.models import MessageTemplate

    ids = seed_consenting_contacts(n)
    now = timezone.now()
    for name in ("one", "two"):
        MessageTemplate.objects.create(name=name, language="fa", subject=f"{name} {{{{ x }}}}",
                                       html="<p>سلام {{ first_name }}</p>")
    system = Actor.system("crash-test")
    journey = do_save_journey(system, {"name": "crash", "definition": {
        "trigger": {"type": "manual"}, "start": "s1", "steps": {
            "s1": {"type": "send", "template": "one", "next": "s2"},
            "s2": {"type": "wait", "minutes": 0, "next": "s3"},
            "s3": {"type": "send", "template": "two"}}}})
    version = do_publish(system, journey)
    Enrolment.objects.bulk_create([Enrolment(
        journey=journey, version=version, contact_id=cid, node="s1", next_run_at=now,
        entered_at=now, data={"source": "crash-test", "visits": {"s1": 1}}) for cid in ids],
        batch_size=2000)
    print(json.dumps({"journey": journey.pk, "enrolled": len(ids)}))


def runs() -> None:
    from peyvand.journeys.models import StepRun

    print(json.dumps({"runs": StepRun.objects.count()}))


def report() -> None:
    from django.db.models import Count

    from peyvand.journeys.models import Enrolment, StepRun
    from peyvand.messaging.models import OutboxMessage

    per_enrolment = Counter(StepRun.objects.values("enrolment_id", "node")
                            .annotate(n=Count("id")).values_list("n", flat=True))
    per_contact = Counter(OutboxMessage.objects.values("contact_id").annotate(n=Count("id"))
                          .values_list("n", flat=True))
    print(json.dumps({
        "states": dict(Enrolment.objects.values_list("state").annotate(n=Count("id"))),
        "runs_by_node": dict(StepRun.objects.values_list("node").annotate(n=Count("id"))),
        "runs_per_step": dict(per_enrolment),
        "outcomes": dict(StepRun.objects.values_list("outcome").annotate(n=Count("id"))),
        "outbox_per_contact": dict(per_contact),
        "outbox": OutboxMessage.objects.count(),
        "leased": Enrolment.objects.exclude(lease_owner="").count(),
    }))


if __name__ == "__main__":
    from collections import Counter

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peyvand.settings")
    import django

    django.setup()
    {"setup": lambda: setup(int(sys.argv[2])), "runs": runs, "report": report}[sys.argv[1]]()
