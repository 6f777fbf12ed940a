from __future__ import annotations

import pytest

from tests.messaging.conftest import (  # noqa: F401 (fixtures)
    api_for,
    make_contact,
    system,
    template,
)
from tests.messaging.processes import backend_env  # noqa: F401 (real processes' database)


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PEYVAND_PUBLIC_URL = "https://crm.example"


@pytest.fixture
def live(db, system, template):  # noqa: F811 (the fixtures imported above)
    """A published journey from a definition (templates named in it are made)."""
    from peyvand.journeys.actions import do_publish, do_save_journey
    from peyvand.messaging.models import MessageTemplate

    def make(definition, **settings):
        for step in definition["steps"].values():
            if step.get("type") == "send" and not MessageTemplate.objects.filter(
                    name=step["template"]).exists():
                template(step["template"])
        journey = do_save_journey(system, {"name": "J", "definition": definition, **settings})
        do_publish(system, journey)
        return journey

    return make


def steps(*chain, trigger=None, goal=None):
    """A linear definition s1 → s2 → … from step bodies (their `next` filled in)."""
    body = {}
    for i, step in enumerate(chain, 1):
        step = dict(step)
        if i < len(chain) and step["type"] not in ("exit", "branch", "split") \
                and "next" not in step:
            step["next"] = f"s{i + 1}"
        body[f"s{i}"] = step
    out = {"trigger": trigger or {"type": "manual"}, "start": "s1", "steps": body}
    if goal is not None:
        out["goal"] = goal
    return out
