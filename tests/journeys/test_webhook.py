"""The `webhook` step: a JSON POST with an idempotency key, its outcome recorded, never
raising out of the step."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

from peyvand.base.errors import Invalid
from peyvand.journeys import webhook
from peyvand.journeys.actions import enrol
from peyvand.journeys.definition import check_definition
from peyvand.journeys.models import Enrolment, StepRun
from peyvand.journeys.runner import run_due
from tests.journeys.conftest import steps


@pytest.fixture
def receiver(settings):
    """A local HTTP receiver: the requests it got; answers with `state["status"]`."""
    settings.PEYVAND_WEBHOOK_LOOPBACK_HTTP = True
    state: dict = {"status": 200, "sleep": 0.0, "got": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["got"].append((self.path, dict(self.headers), json.loads(body)))
            time.sleep(state["sleep"])
            self.send_response(state["status"])
            if state["status"] == 302:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def run_one(live, make_contact, url):
    journey = live(steps({"type": "webhook", "url": url}, {"type": "tag", "add": "after"}))
    person = make_contact()
    item, _reason = enrol(journey, person.pk, "test")
    run_due("w")
    item.refresh_from_db()
    return journey, person, item, StepRun.objects.get(enrolment=item, node="s1")


@pytest.mark.django_db
def test_the_call_carries_the_ids_and_the_idempotency_key(live, make_contact, receiver):
    journey, person, item, run = run_one(live, make_contact, receiver["url"])
    [(path, headers, body)] = receiver["got"]
    assert path == "/hook"
    assert body == {"journey": journey.pk, "enrolment": item.pk, "contact": person.pk,
                    "node": "s1"}
    assert headers["Idempotency-Key"] == f"{item.pk}:s1:1"
    assert headers["Content-Type"] == "application/json"
    assert (run.outcome, run.detail["status"]) == ("delivered", 200)
    assert (item.state, item.exit_reason) == (Enrolment.State.DONE, "completed")
    assert list(person.tags.values_list("name", flat=True)) == ["after"]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "outcome"), [(500, "refused"), (302, "refused")])
def test_an_error_status_is_recorded_and_the_journey_goes_on(live, make_contact, receiver,
                                                             status, outcome):
    receiver["status"] = status
    _journey, person, item, run = run_one(live, make_contact, receiver["url"])
    assert (run.outcome, run.detail["status"]) == (outcome, status)
    assert len(receiver["got"]) == 1  # a redirect is not followed
    assert item.state == Enrolment.State.DONE
    assert list(person.tags.values_list("name", flat=True)) == ["after"]


@pytest.mark.django_db
def test_a_timeout_or_no_receiver_is_an_error_not_a_raise(live, make_contact, receiver,
                                                          monkeypatch):
    monkeypatch.setattr(webhook, "TIMEOUT", 0.2)
    receiver["sleep"] = 1.0
    _journey, _person, item, run = run_one(live, make_contact, receiver["url"])
    assert run.outcome == "error" and "timed out" in run.detail["error"].lower()
    assert item.state == Enrolment.State.DONE
    _journey, _person, item, run = run_one(live, make_contact, "http://127.0.0.1:1/closed")
    assert run.outcome == "error" and run.detail["error"]
    assert item.state == Enrolment.State.DONE


def test_only_https_or_the_loopback_in_tests(settings):
    settings.PEYVAND_WEBHOOK_LOOPBACK_HTTP = False
    assert webhook.allowed_url("https://hooks.example.com/x?y=1")
    for url in ("http://hooks.example.com/x", "http://127.0.0.1:8000/x", "ftp://x/y",
                "https://user:pw@example.com/", "https:///nohost", "javascript:alert(1)"):
        assert not webhook.allowed_url(url), url
    assert webhook.call("http://127.0.0.1:8000/x", {}, "k") == {"error": "url refused"}
    settings.PEYVAND_WEBHOOK_LOOPBACK_HTTP = True
    assert webhook.allowed_url("http://127.0.0.1:8000/x")
    assert not webhook.allowed_url("http://localhost:8000/x")


@pytest.mark.parametrize(("step", "path"), [
    ({}, "steps.s1.url"),
    ({"url": "http://example.com/"}, "steps.s1.url"),
    ({"url": 5}, "steps.s1.url"),
    ({"url": "https://example.com/", "method": "GET"}, "steps.s1.method"),
])
def test_the_grammar(settings, step, path):
    settings.PEYVAND_WEBHOOK_LOOPBACK_HTTP = False
    with pytest.raises(Invalid) as refused:
        check_definition(steps({"type": "webhook", **step}), templates=False)
    assert list(refused.value.errors) == [path]
    assert check_definition(steps({"type": "webhook", "url": "https://example.com/h"}),
                            templates=False)
