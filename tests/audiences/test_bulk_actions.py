"""Acting on people in bulk (issue 16): tag, untag, export and broadcast on a segment, an
unsaved rule, ticked contacts or a contact search; as jobs with progress, audited, by role,
on the members taken when the job starts."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied

from peyvand.accounts.actions import do_change_role
from peyvand.audiences import broadcast_audience, bulk
from peyvand.audiences.actions import do_create_segment
from peyvand.audiences.bulk import do_start_bulk_action
from peyvand.base.actor import Actor
from peyvand.base.errors import Invalid
from peyvand.base.models import AuditEntry, Job
from peyvand.contacts.actions import do_create_contact
from peyvand.contacts.models import Contact, ContactTag, Tag, TimelineEvent
from peyvand.messaging.models import Broadcast, MessageTemplate, OutboxMessage
from tests.messaging.conftest import opt

pytestmark = pytest.mark.django_db

VIP = {"field": "contact.tags", "op": "has", "value": "vip"}
SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def wired(settings, tmp_path):
    """What AudiencesConfig.ready does once the lead wires it, and a private export folder."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.PEYVAND_PUBLIC_URL = "https://crm.example"
    broadcast_audience.register()
    bulk.register()


def person(name: str, *, tags=(), email: bool = True, consent: bool = True) -> Contact:
    raw = {"first_name": name, "tags": list(tags)}
    raw["email" if email else "phone"] = (f"{name}@example.com" if email else "+989121111111")
    contact = do_create_contact(SYSTEM, raw)
    if consent:
        opt(contact.pk, "email")
    return contact


@pytest.fixture
def people(db):
    """Three VIPs (one of them Sara) and two others."""
    vips = [person("sara", tags=["vip"]), person("reza", tags=["vip"]),
            person("mina", tags=["vip"])]
    others = [person("omid"), person("sahar", tags=["other"])]
    segment = do_create_segment(SYSTEM, "VIPs", VIP)
    MessageTemplate.objects.create(
        name="autumn", language="fa", subject="سلام", message_class="marketing",
        html='<p>سلام</p><p><a href="{{ unsubscribe_url }}">لغو</a></p>')
    return {"vips": vips, "others": others, "segment": segment}


def targets(people) -> dict[str, tuple[dict, set[int]]]:
    vips = {c.pk for c in people["vips"]}
    return {
        "segment": ({"segment": people["segment"].pk}, vips),
        "rules": ({"rules": VIP}, vips),
        "contacts": ({"contacts": [people["vips"][0].pk, people["others"][0].pk]},
                     {people["vips"][0].pk, people["others"][0].pk}),
        "contact_search": ({"contact_search": {"tag": "vip"}}, vips),
    }


def run(actor, callbacks, **kw) -> Job:
    with callbacks(execute=True):
        job = do_start_bulk_action(actor, **kw)
    job.refresh_from_db()
    return job


def tagged(name: str) -> set[int]:
    return set(ContactTag.objects.filter(tag__name=name).values_list("contact_id", flat=True))


@pytest.mark.parametrize("kind", ["segment", "rules", "contacts", "contact_search"])
def test_tag_then_untag_each_target(people, owner_actor, django_capture_on_commit_callbacks,
                                    kind):
    target, expected = targets(people)[kind]
    job = run(owner_actor, django_capture_on_commit_callbacks, action="tag", target=target,
              params={"tag": "winter"})
    assert job.status == Job.Status.DONE, job.error
    assert job.kind == "segments.action"
    assert (job.progress, job.total, job.percent) == (len(expected), len(expected), 100)
    assert job.result == {"action": "tag", "count": len(expected), "tag": "winter",
                          "changed": len(expected)}
    assert tagged("winter") == expected
    assert set(TimelineEvent.objects.filter(kind="tag.added", data__tag="winter")
               .values_list("contact_id", flat=True)) == expected

    again = run(owner_actor, django_capture_on_commit_callbacks, action="tag", target=target,
                params={"tag": "winter"})
    assert again.result["changed"] == 0  # tagged already: nobody changed, no new entries
    assert TimelineEvent.objects.filter(kind="tag.added", data__tag="winter").count() == \
        len(expected)

    off = run(owner_actor, django_capture_on_commit_callbacks, action="untag", target=target,
              params={"tag": "winter"})
    assert off.status == Job.Status.DONE and off.result["changed"] == len(expected)
    assert tagged("winter") == set()
    entry = AuditEntry.objects.filter(action="segments.untag").get()
    assert entry.details["count"] == len(expected) and entry.details["target"] == kind
    assert "@" not in str(entry.details) + entry.summary  # counts, never addresses


def exported_ids(job: Job) -> set[int]:
    from pathlib import Path

    path = Path(job.result["path"])
    if job.result["format"] == "xlsx":
        from openpyxl import load_workbook

        rows = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
        return {int(r[0]) for r in rows[1:]}
    text = path.read_text(encoding="utf-8-sig")
    return {int(r["id"]) for r in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("kind,fmt", [("segment", "csv"), ("rules", "xlsx"),
                                      ("contacts", "csv"), ("contact_search", "xlsx")])
def test_export_each_target(people, owner_actor, django_capture_on_commit_callbacks, kind,
                            fmt, client_for):
    target, expected = targets(people)[kind]
    job = run(owner_actor, django_capture_on_commit_callbacks, action="export", target=target,
              params={"format": fmt})
    assert job.status == Job.Status.DONE, job.error
    assert job.result["count"] == job.result["written"] == len(expected)
    assert exported_ids(job) == expected
    # Listed on the jobs page with a name and its download (the owner's job).
    owner = client_for("owner", username="owner-page")
    page = owner.get("/jobs/").content.decode()
    assert f'data-job="{job.pk}"' in page and "Export people" in page
    assert f"/jobs/{job.pk}/download/" in page
    audit = AuditEntry.objects.get(action="segments.export")
    assert audit.details["count"] == len(expected) and "path" not in audit.details
    assert AuditEntry.objects.filter(action="contacts.export",
                                     details__chosen=True).count() == 1


@pytest.mark.parametrize("kind", ["segment", "rules", "contacts", "contact_search"])
def test_broadcast_each_target(people, owner_actor, django_capture_on_commit_callbacks, kind):
    target, expected = targets(people)[kind]
    template = MessageTemplate.objects.get(name="autumn")
    job = run(owner_actor, django_capture_on_commit_callbacks, action="broadcast",
              target=target, params={"template": template.pk})
    assert job.status == Job.Status.DONE, job.error
    item = Broadcast.objects.get(pk=job.result["broadcast"])
    # The owner's broadcast is queued at once: its outbox rows are the snapshot.
    assert item.status == "queued" and item.tag is None
    assert set(OutboxMessage.objects.filter(broadcast=item)
               .values_list("contact_id", flat=True)) == expected
    assert item.audience["count"] == len(expected)
    if kind == "segment":
        assert item.audience["segments"] == [people["segment"].pk]
        assert item.audience["names"] == {"segments": ["VIPs"]}
    else:
        assert sorted(item.audience["contacts"]) == sorted(expected)


def test_a_marketers_broadcast_waits_for_approval(people, actor_for,
                                                  django_capture_on_commit_callbacks):
    marketer = actor_for("marketer")
    job = run(marketer, django_capture_on_commit_callbacks, action="broadcast",
              target={"segment": people["segment"].pk}, params={"template": "autumn"})
    item = Broadcast.objects.get(pk=job.result["broadcast"])
    assert item.status == "awaiting_approval" and not item.messages.exists()
    assert item.audience_spec == {"segments": [people["segment"].pk]}


@pytest.mark.parametrize("role,action,params", [
    ("analyst", "tag", {"tag": "vip"}),  # plans segments, does not act on people
    ("support", "tag", {"tag": "vip"}),
    ("reviewer", "tag", {"tag": "vip"}),
    ("marketer", "export", {"format": "csv"}),  # exports are the owner's
    ("support", "broadcast", {"template": "autumn"}),
])
def test_roles_are_refused(people, actor_for, role, action, params):
    with pytest.raises(PermissionDenied):
        do_start_bulk_action(actor_for(role), action=action,
                             target={"segment": people["segment"].pk}, params=params)
    assert not Job.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="segments.").exists()


def test_the_marketer_tags_and_broadcasts(people, actor_for,
                                          django_capture_on_commit_callbacks):
    marketer = actor_for("marketer")
    job = run(marketer, django_capture_on_commit_callbacks, action="tag",
              target={"segment": people["segment"].pk}, params={"tag": "vip"})
    assert job.status == Job.Status.DONE and job.result["changed"] == 0


def test_the_role_is_checked_again_when_the_job_runs(people, make_user, owner_actor,
                                                     django_capture_on_commit_callbacks):
    marketer = make_user("m", "marketer")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = do_start_bulk_action(Actor.for_user(marketer, "ui"), action="tag",
                                   target={"segment": people["segment"].pk},
                                   params={"tag": "winter"})
    do_change_role(owner_actor, marketer, "analyst")
    callbacks[0]()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and not tagged("winter")


def test_snapshot_people_who_join_while_it_runs_are_not_acted_on(
        people, owner_actor, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 1)
    from peyvand.contacts import actions as contact_actions

    real = contact_actions.do_tag_contacts
    joined = []

    def tag_and_meanwhile_someone_joins(*args, **kwargs):
        if not joined:
            joined.append(person("late", tags=["vip"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(contact_actions, "do_tag_contacts", tag_and_meanwhile_someone_joins)
    job = run(owner_actor, django_capture_on_commit_callbacks, action="tag",
              target={"segment": people["segment"].pk}, params={"tag": "winter"})
    assert job.status == Job.Status.DONE
    late = joined[0]
    assert late.pk in set(bulk.target_members(owner_actor, {"segment": people["segment"].pk})
                          .values_list("pk", flat=True))  # a member now…
    assert tagged("winter") == {c.pk for c in people["vips"]}  # …but not acted on
    assert job.total == job.result["count"] == 3


def test_progress_moves_chunk_by_chunk(people, owner_actor, django_capture_on_commit_callbacks,
                                       monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)
    seen = []
    real = bulk.set_progress
    monkeypatch.setattr(bulk, "set_progress",
                        lambda job, done, total=None: (seen.append((done, total)),
                                                       real(job, done, total)))
    run(owner_actor, django_capture_on_commit_callbacks, action="tag",
        target={"segment": people["segment"].pk}, params={"tag": "winter"})
    assert seen == [(0, 3), (2, None), (3, None)]


@pytest.mark.parametrize("kw,field", [
    ({"action": "delete", "target": {"segment": 1}, "params": {}}, "action"),
    ({"action": "tag", "target": {"segment": 999}, "params": {"tag": "x"}}, "segment"),
    ({"action": "tag", "target": {"rules": {"field": "nope", "op": "eq", "value": 1}},
      "params": {"tag": "x"}}, "rules.field"),
    ({"action": "tag", "target": {"contacts": []}, "params": {"tag": "x"}}, "contacts"),
    ({"action": "tag", "target": {"segment": 1, "rules": {}}, "params": {"tag": "x"}},
     "target"),
    ({"action": "tag", "target": "everyone", "params": {"tag": "x"}}, "target"),
    ({"action": "untag", "target": {"contacts": [1]}, "params": {"tag": "never"}}, "tag"),
    ({"action": "tag", "target": {"contacts": [1]}, "params": {"tag": " "}}, "tag"),
    ({"action": "export", "target": {"contacts": [1]}, "params": {"format": "json"}},
     "format"),
    ({"action": "broadcast", "target": {"contacts": [1]}, "params": {"template": "none"}},
     "template"),
])
def test_refusals_name_the_field(people, owner_actor, kw, field):
    with pytest.raises(Invalid) as exc:
        do_start_bulk_action(owner_actor, **kw)
    assert field in exc.value.errors
    assert not Job.objects.exists()


def test_job_label_names_the_action_and_segment(people, owner_actor):
    job = do_start_bulk_action(owner_actor, action="tag",
                               target={"segment": people["segment"].pk}, params={"tag": "w"})
    assert job.kind_label == "Tag people · VIPs"
    assert Tag.objects.filter(name="w").count() == 0  # nothing until the job runs
