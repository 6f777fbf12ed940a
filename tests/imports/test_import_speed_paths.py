"""What the fast paths of the contact import must not change."""

from __future__ import annotations

import gc

import pytest

from peyvand.contacts.models import Contact, TimelineEvent
from peyvand.imports.contacts import import_contacts

pytestmark = pytest.mark.django_db


def test_timeline_data_is_written_as_json(operator, write_csv):
    # COPY writes JSON columns as their text; the event must read back as the object.
    path = write_csv([["email"], ["a@example.com"], ["b@example.com"]])
    import_contacts(operator, path)
    assert [e.data for e in TimelineEvent.objects.filter(kind="contact.created")] == \
        [{"source": "import"}] * 2


def test_the_collector_gets_back_every_object_even_when_an_import_stops(operator, write_csv):
    if gc.get_freeze_count():
        pytest.skip("the test process froze objects already")
    path = write_csv([["email"]] + [[f"u{i}@example.com"] for i in range(5)])
    import_contacts(operator, path, batch_size=2)
    assert gc.get_freeze_count() == 0

    def stop(totals, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_contacts(operator, write_csv([["email"], ["x@example.com"]]), progress=stop)
    assert gc.get_freeze_count() == 0
    assert Contact.objects.count() == 6


def test_objects_someone_else_froze_stay_frozen(operator, write_csv):
    if gc.get_freeze_count():
        pytest.skip("the test process froze objects already")
    gc.freeze()
    try:
        import_contacts(operator, write_csv([["email"], ["a@example.com"]]))
        # Unfreezing would have emptied the permanent generation (frozen objects that died
        # meanwhile leave it one by one).
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
