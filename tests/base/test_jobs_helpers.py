import pytest

from peyvand.accounts.actions import do_change_role
from peyvand.base.actor import Actor
from peyvand.base.jobs import create_job, fail_job, finish_job, job_actor, set_progress, start_job
from peyvand.base.models import Job

pytestmark = pytest.mark.django_db


def test_job_lifecycle(owner_actor):
    job = create_job(owner_actor, "test.kind", {"x": 1})
    assert job.status == Job.Status.QUEUED and job.created_by == owner_actor.user
    start_job(job)
    set_progress(job, 3, total=10)
    row = Job.objects.get(pk=job.pk)
    assert (row.status, row.progress, row.total, row.percent) == ("running", 3, 10, 30)
    finish_job(job, {"count": 10})
    row.refresh_from_db()
    assert row.status == "done" and row.progress == 10 and row.result == {"count": 10}
    assert row.finished_at is not None


def test_failed_job_keeps_the_reason(owner_actor):
    job = create_job(owner_actor, "test.kind")
    start_job(job)
    fail_job(job, "disk full")
    row = Job.objects.get(pk=job.pk)
    assert row.status == "failed" and row.error == "disk full" and row.finished_at


def test_job_actor_uses_the_current_role(owner, make_user):
    sara = make_user("sara", "owner")
    job = create_job(Actor.for_user(sara, "ui"), "test.kind")
    do_change_role(Actor.for_user(owner, "ui"), sara, "analyst")
    actor = job_actor(Job.objects.get(pk=job.pk))
    assert actor.user == sara and actor.role == "analyst" and actor.via == "ui"


def test_job_actor_for_operator_and_deleted_user(make_user):
    job = create_job(Actor.operator(), "test.kind")
    actor = job_actor(Job.objects.get(pk=job.pk))
    assert actor.user is None and actor.role == "owner" and actor.via == "cli"
    gone = make_user("gone", "owner")
    job = create_job(Actor.for_user(gone, "ui"), "test.kind")
    gone.delete()
    assert job_actor(Job.objects.get(pk=job.pk)).role == ""
