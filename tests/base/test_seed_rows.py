"""The rows the migrations put in (the default topics, the default sending strategy) are there
for every database test, even after a transactional test emptied the tables on the same
worker (tests/conftest.py puts them back). The transactional test is marked slow only so that
it runs first (slow tests start first); under xdist the two may land on different workers,
where the second proves less but still holds."""

import pytest


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_transactional_test_empties_the_tables_after_itself():
    from peyvand.consent.models import Topic

    Topic.objects.create(key="extra", name_fa="x", name_en="x")


@pytest.mark.django_db
def test_the_seed_rows_are_there_after_it():
    from peyvand.consent.models import Topic
    from peyvand.messaging.models import StrategyRule

    assert Topic.objects.count() == 4 and StrategyRule.objects.count() == 1
    assert not Topic.objects.filter(key="extra").exists()
    Topic.objects.create(key="extra2", name_fa="x", name_en="x")  # the sequence is past them
