"""A schemathesis run over the whole API, as `schemathesis run --checks all` does it: examples,
coverage, fuzzing and stateful phases, every check, authenticated as the owner.

What the checks hold the API to: no 5xx; every status, content type and body as the OpenAPI
says; a request the schema forbids is refused (4xx); a request it allows is not refused as
malformed. 422 means "does not match the schema", so a schema-valid request answered 422 is a
failure; 400 means "matches, but a rule refuses it" (an address that is no mobile number, a
topic nobody defined), with the reason, and is allowed. The only failures tolerated are the
documented soft deletes (docs/security.md, "A strict, documented API").

Bounded for CI: a fixed seed, deterministic generation and a few examples per operation
(PEYVAND_SCHEMATHESIS_EXAMPLES=100 for a deeper run by hand).
"""

from __future__ import annotations

import os
import threading

import pytest
import schemathesis
from django.db import connections
from schemathesis.engine import events, from_schema
from schemathesis.transport.wsgi import WSGITransport

from peyvand.wsgi import application

# The engine runs requests in a worker thread: the data it sees must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("PEYVAND_SCHEMATHESIS_EXAMPLES", "10"))

# DELETEs that keep a row on purpose, so a GET after them still answers 200 (docs/security.md):
# an erased contact stays as an anonymous row (E6), a topic or form with consent history is
# retired or closed, not deleted, so the ledger can always name what was agreed to.
SOFT_DELETES = {
    "DELETE /api/v1/contacts/{contact_id}",
    "DELETE /api/v1/topics/{key}",
    "DELETE /api/v1/forms/{slug}",
}


def _send_in_process(self, case, **kwargs):
    # schemathesis 4.32's auth probe hands the WSGI transport the network-only settings of a
    # requests session; a Werkzeug client takes none of them.
    for name in ("max_redirects", "verify", "cert", "proxies"):
        kwargs.pop(name, None)
    try:
        return _wsgi_send(self, case, **kwargs)
    finally:
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()  # the engine's worker thread would leave them open


_wsgi_send = WSGITransport.send


# The phases run as separate tests, the two longest each over two halves of the operations
# (paths from a to l, and the rest), so that two test workers share the run (the suite's
# longest); together they cover every operation in every phase. The stateful phase needs all
# operations at once (the links between them).
PHASES = {"COVERAGE": ("examples", "coverage"), "FUZZING": ("fuzzing",),
          "STATEFUL_TESTING": ("stateful",)}
FIRST_HALF = r"^/api/v1/[a-l]"
RUNS = [("COVERAGE", "a-l"), ("COVERAGE", "m-z"), ("FUZZING", "a-l"), ("FUZZING", "m-z"),
        ("STATEFUL_TESTING", "all")]


def run_schemathesis(token: str, phase: str | None = None,
                     half: str = "all") -> tuple[list[str], dict[str, int]]:
    enabled = PHASES[phase] if phase else tuple(p for ps in PHASES.values() for p in ps)
    config = schemathesis.Config.from_dict({
        "seed": 20240501,
        "workers": 1,
        "phases": {p: {"enabled": p in enabled} for ps in PHASES.values() for p in ps},
        "generation": {"max-examples": EXAMPLES, "deterministic": True},
        "checks": {
            "enabled": True,
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "410", "429"]},
        },
        "headers": {"Authorization": f"Bearer {token}"},
    })
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=config)
    if half == "a-l":
        schema = schema.include(path_regex=FIRST_HALF)
    elif half == "m-z":
        schema = schema.exclude(path_regex=FIRST_HALF)
    failures: list[str] = []
    counts: dict[str, int] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            counts[event.phase.name] = counts.get(event.phase.name, 0) + len(recorder.cases)
            for case_id, checks in recorder.checks.items():
                for node in checks:
                    info = node.failure_info
                    if info is None:
                        continue
                    sample = info.code_sample
                    if node.name == "use_after_free" and _soft_delete_in(sample):
                        continue
                    interaction = recorder.interactions.get(case_id)
                    answer = interaction.response if interaction else None
                    failures.append(
                        f"[{event.phase.name}] {recorder.label} · {node.name}: "
                        f"{info.failure.title}\n{info.failure.message[:500]}\n"
                        f"{sample[:300]} … {sample[-700:]}\n"
                        f"→ {answer.status_code if answer else '?'} "
                        f"{(answer.content if answer else b'')[:300]!r}")
        elif isinstance(event, (events.FatalError, events.NonFatalError)):
            failures.append(f"engine error: {event.info.title}: {event.info.message[:1500]}")
    return failures, counts


def _soft_delete_in(sample: str) -> bool:
    """Whether the DELETE in a failure's curl steps is one of the documented soft deletes."""
    prefixes = [op.split(" ", 1)[1].split("{", 1)[0] for op in SOFT_DELETES]
    return any("-X DELETE" in line and any(p in line for p in prefixes)
               for line in sample.splitlines())


@pytest.mark.slow
@pytest.mark.parametrize("phase,half", RUNS)
def test_schemathesis_finds_nothing(api, monkeypatch, phase, half):
    monkeypatch.setattr(WSGITransport, "send", _send_in_process)
    failures, counts = run_schemathesis(api.key, phase, half)
    # The phase ran (the stateful one too: it finds the links between operations itself).
    assert counts.get(phase), counts
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:30])


def test_the_halves_cover_every_operation():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    every = {op.ok().label for op in schema.get_all_operations()}
    first = {op.ok().label for op in schema.include(path_regex=FIRST_HALF)
             .get_all_operations()}
    rest = {op.ok().label for op in schema.exclude(path_regex=FIRST_HALF)
            .get_all_operations()}
    assert first and rest and first | rest == every and not first & rest
