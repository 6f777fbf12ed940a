from __future__ import annotations

import pytest


@pytest.fixture
def task_for(system):
    """A task about `contact`, made by the system (a journey would), for `assignee` or the
    team."""
    from peyvand.support.actions import do_create_task

    def make(contact, title="Call about the refill", **options):
        return do_create_task(system, contact, title, **options)

    return make
