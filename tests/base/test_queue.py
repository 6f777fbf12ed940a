from __future__ import annotations

import pytest
from django.db import transaction
from huey.contrib.djhuey import HUEY, task

from peyvand.base.queue import enqueue_on_commit

ran: list[tuple[int, str]] = []


@task()
def remember(number: int, word: str = "") -> None:
    ran.append((number, word))


@pytest.fixture(autouse=True)
def _nothing_ran():
    ran.clear()


@pytest.mark.django_db(transaction=True)
def test_the_task_runs_once_the_transaction_commits():
    assert HUEY.immediate  # the test settings run tasks in the calling thread
    with transaction.atomic():
        enqueue_on_commit(remember, 1, word="one")
        assert ran == []
    assert ran == [(1, "one")]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_queues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(remember, 2)
        raise RuntimeError("rolled back")
    assert ran == []


@pytest.mark.django_db(transaction=True)
def test_the_arguments_are_taken_when_queued():
    with transaction.atomic():
        number = 3
        enqueue_on_commit(remember, number)
        number = 4
    assert ran == [(3, "")]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_task_is_queued_at_once():
    enqueue_on_commit(remember, 5)
    assert ran == [(5, "")]
