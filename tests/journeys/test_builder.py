"""The journey page's builder: a draft step's form edits it in place (no JSON), a step is
added after another (wired into its `next`) or deleted (refused while others lead to it),
the trigger has its form, and every save goes through do_save_journey, a fault shown next
to the field its path names (issue 18, item 8)."""

from __future__ import annotations

import pytest

from peyvand.journeys.actions import do_save_journey
from peyvand.journeys.builder import add_after, delete_step, edit_step, fault_place
from peyvand.journeys.models import Journey
from tests.journeys.conftest import steps
from tests.messaging.conftest import client_for  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
DRAFT = steps({"type": "send", "template": "hello"},
              {"type": "wait", "days": 2},
              {"type": "wait_event", "event": "opened", "timeout": {"days": 3},
               "timeout_next": "s5"},
              {"type": "tag", "add": "opened"},
              {"type": "exit"})


@pytest.fixture
def draft(system, template):  # noqa: F811
    template("hello")
    template("later")
    return do_save_journey(system, {"name": "B", "definition": DRAFT})


def builder(client, journey, follow=False, **fields):
    return client.post(f"/journeys/{journey.pk}/builder/", fields, follow=follow)


def test_a_wait_is_edited_by_its_form_and_saved(draft, client_for):  # noqa: F811
    page = builder(client_for("marketer"), draft, op="edit", node="s2", amount="5",
                   unit="hours", exit_next="s3")
    assert page.status_code == 302 and page["Location"].endswith("#step-s2")
    draft.refresh_from_db()
    assert draft.definition["steps"]["s2"] == {"type": "wait", "hours": 5, "next": "s3"}
    assert draft.definition["steps"]["s1"] == DRAFT["steps"]["s1"]  # the rest untouched


def test_a_send_step_takes_a_marketing_template_and_its_options(draft, client_for):  # noqa: F811
    builder(client_for("owner"), draft, op="edit", node="s1", template="later",
            if_capped="skip", best_hour="1", max_delay_hours="6", exit_next="s2")
    draft.refresh_from_db()
    assert draft.definition["steps"]["s1"] == {
        "type": "send", "template": "later", "if_capped": "skip", "best_hour": True,
        "max_delay_hours": 6, "next": "s2"}


def test_a_fault_shows_next_to_the_field_its_path_names(draft, client_for):  # noqa: F811
    page = builder(client_for("owner"), draft, op="edit", node="s3", event="opened",
                   timeout_amount="-1", timeout_unit="days", exit_next="s4",
                   exit_timeout_next="s5")
    assert page.status_code == 400
    assert page.context["errors"] == {"steps.s3.timeout.days": "Give a whole number, 0 or "
                                                               "more."}
    [s3] = [row for row in page.context["builder"]["steps"] if row["node"] == "s3"]
    [field] = [f for f in s3["fields"] if f["name"] == "timeout_amount"]
    assert field["error"] == "Give a whole number, 0 or more." and field["value"] == "-1"
    assert s3["open"]
    assert b'id="id_s3_timeout_amount_error"' in page.content
    draft.refresh_from_db()
    assert draft.definition == DRAFT  # not saved


def test_a_step_added_after_another_is_wired_into_its_next(draft, client_for):  # noqa: F811
    page = builder(client_for("owner"), draft, op="add", node="s1", type="wait")
    assert page["Location"].endswith("#step-s6")
    draft.refresh_from_db()
    assert draft.definition["steps"]["s1"]["next"] == "s6"
    assert draft.definition["steps"]["s6"] == {"type": "wait", "days": 1, "next": "s2"}


def test_a_step_added_on_a_wait_events_timeout_way(draft):
    out, node = add_after(DRAFT, "s3", "tag", "timeout_next", {})
    assert node == "s6" and out["steps"]["s3"]["timeout_next"] == "s6"
    assert out["steps"]["s6"] == {"type": "tag", "add": "journey", "next": "s5"}
    assert out["steps"]["s3"]["next"] == "s4"


def test_deleting_a_step_others_lead_to_is_refused_naming_them(draft, client_for):  # noqa: F811
    client = client_for("owner")
    page = builder(client, draft, op="delete", node="s5")
    assert page.status_code == 400
    assert page.context["errors"] == {"steps.s5": "Steps s3, s4 lead here: point them "
                                                  "elsewhere first."}
    # Deleted once nothing leads to it: s4 points nowhere, then s3 on no event ends.
    assert builder(client, draft, op="edit", node="s4", action="add", tag="opened",
                   exit_next="").status_code == 302
    builder(client, draft, op="delete", node="s4")  # still s3's way: refused
    draft.refresh_from_db()
    assert "s4" in draft.definition["steps"]
    # A way out pointed elsewhere drops what only it led to, and says so.
    page = builder(client, draft, op="edit", node="s3", event="opened", timeout_amount="3",
                   timeout_unit="days", exit_next="s4", exit_timeout_next="", follow=True)
    assert "No step led to s5 any more" in page.content.decode()
    draft.refresh_from_db()
    assert set(draft.definition["steps"]) == {"s1", "s2", "s3", "s4"}


def test_the_trigger_form_sets_the_type_and_its_fields(draft, client_for):  # noqa: F811
    client = client_for("owner")
    builder(client, draft, op="trigger", trigger_type="forgotten", trigger_days="60",
            trigger_tag="ignored: another type's field")
    draft.refresh_from_db()
    assert draft.definition["trigger"] == {"type": "forgotten", "days": 60}
    page = builder(client, draft, op="trigger", trigger_type="forgotten", trigger_days="0")
    assert page.status_code == 400
    assert page.context["builder"]["trigger"]["open"]
    [days] = [f for f in page.context["builder"]["trigger"]["fields"]
              if f["name"] == "trigger_days"]
    assert days["error"] and days["value"] == "0"


def test_an_empty_draft_gets_its_first_step(system, client_for):  # noqa: F811
    journey = do_save_journey(system, {"name": "Empty"})
    client = client_for("owner")
    page = client.get(f"/journeys/{journey.pk}/")
    assert b'id="builder-empty"' in page.content
    builder(client, journey, op="first", type="wait")
    journey.refresh_from_db()
    assert journey.definition == {"trigger": {"type": "manual"}, "start": "s1",
                                  "steps": {"s1": {"type": "wait", "days": 1}}}


def test_a_step_type_the_builder_does_not_know_is_edited_as_json(monkeypatch):
    from peyvand.journeys import definition

    monkeypatch.setitem(definition.EXITS, "task", ("next",))
    draft = {"trigger": {"type": "manual"}, "start": "s1",
             "steps": {"s1": {"type": "task", "title": "Call", "next": "s2"},
                       "s2": {"type": "exit"}}}
    out, _dropped = edit_step(draft, "s1", {"json": '{"title": "Call back", "due_days": 2}',
                                  "exit_next": "s2"})
    assert out["steps"]["s1"] == {"type": "task", "title": "Call back", "due_days": 2,
                                  "next": "s2"}
    from peyvand.journeys.builder_forms import step_forms

    [row, _exit] = step_forms(draft, ["s1", "s2"], {"templates": [], "fields": []}, {})
    assert [f["name"] for f in row["fields"]] == ["json", "exit_next"]
    assert '"title": "Call"' in row["fields"][0]["value"]


def test_fault_places():
    assert fault_place("steps.s3.timeout.days") == ("s3", "timeout_amount")
    assert fault_place("steps.s2.days") == ("s2", "amount")
    assert fault_place("steps.s4.rule.all[0].op") == ("s4", "rule")
    assert fault_place("steps.s4.yes") == ("s4", "exit_yes")
    assert fault_place("trigger.days") == ("trigger", "trigger_days")
    assert fault_place("start") == ("", "")
    assert delete_step({"start": "s1", "steps": {"s1": {"type": "exit"}}}, "s1") == {}


@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_page_shows_each_draft_step_with_its_form(draft, client_for, language):  # noqa: F811
    page = client_for("marketer", language).get(f"/journeys/{draft.pk}/")
    assert [row["node"] for row in page.context["builder"]["steps"]] == \
        ["s1", "s2", "s3", "s4", "s5"]
    for node in ("s1", "s2", "s3", "s4", "s5"):
        assert f'data-step-form="{node}"'.encode() in page.content
    assert b'data-confirm=' in page.content


def test_an_analyst_sees_no_builder(draft, client_for):  # noqa: F811
    client = client_for("analyst")
    page = client.get(f"/journeys/{draft.pk}/")
    assert page.context["builder"] is None and b"data-step-form" not in page.content
    assert builder(client, draft, op="delete", node="s5").status_code == 403
    assert Journey.objects.get(pk=draft.pk).definition == DRAFT
