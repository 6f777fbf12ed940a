from __future__ import annotations

import pytest
from pytest_django.plugin import blocking_manager_key

from peyvand.base.actor import Actor

# Tests live with their app (tests/<app>/, the app's API, UI and CLI tests included); the
# root faces (peyvand/cli.py, api.py, urls.py and the page frame) are tested in tests/faces/.
# Shared fixtures are plugins: one Playwright/Chromium for the whole session, whichever folder
# a browser test is in (two sync Playwright instances in one thread refuse to start), and the
# clients and helpers every face test uses.
pytest_plugins = ["tests.fixtures.browser", "tests.fixtures.faces", "tests.outbound"]


def _transactional(item: pytest.Item) -> bool:
    """Whether pytest-django runs the test as a TransactionTestCase, emptying every table
    after it."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    return bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get(
        "reset_sequences"))) or any(name in fixtures for name in (
            "transactional_db", "live_server", "django_db_reset_sequences"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `slow` tests start first, so neither xdist worker is left alone with one at the
    end: those running real processes without the test database (the crash tests, the sender
    helpers, `peyvand up`: the longest) before the others. The rest keep pytest-django's order
    (database tests, transactional ones, then those without a database). A transactional test
    that runs before database tests is harmless: the rows the migrations put in are put back
    after it (pytest_runtest_teardown)."""

    def key(item: pytest.Item) -> tuple[bool, bool]:
        if item.get_closest_marker("slow") is None:
            return True, False
        fixtures = getattr(item, "fixturenames", ())
        return False, bool(item.get_closest_marker("django_db") or "db" in fixtures
                           or _transactional(item))

    items.sort(key=key)


_SEED_ROWS = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """The test database, and a copy of the rows its migrations put in (the default topics,
    the default sending strategy): a transactional test empties every table after itself, and
    the tests after it on the same worker find them again. Content types and permissions are
    left out: the emptying recreates them, as `migrate` does."""
    from django.apps import apps
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.core import serializers

    models = [m for m in apps.get_models() if m not in (ContentType, Permission)
              and m._meta.managed and not m._meta.proxy]
    with django_db_blocker.unblock():
        rows = [obj for m in models for obj in m._base_manager.order_by("pk")]
        request.config.stash[_SEED_ROWS] = serializers.serialize("json", rows)
    yield


def _put_back_seed_rows(config: pytest.Config) -> None:
    from django.core import serializers
    from django.core.management.color import no_style
    from django.db import connection, transaction

    blocker = config.stash[blocking_manager_key]
    with blocker.unblock(), transaction.atomic():
        objects = list(serializers.deserialize("json", config.stash[_SEED_ROWS]))
        for obj in objects:
            obj.save()
        models = {type(obj.object) for obj in objects}
        with connection.cursor() as cursor:  # PostgreSQL: the sequences past the rows again
            for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
                cursor.execute(sql)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    try:
        return (yield)
    finally:
        # After the fixtures' teardown: the transactional test's tables are empty by now.
        # After the last test the test database itself is gone (nextitem is None).
        if nextitem is not None and _SEED_ROWS in item.config.stash and _transactional(item):
            _put_back_seed_rows(item.config)


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Code run outside a request speaks English in tests unless a test says otherwise; a
    request activates its own language and may leave it active on the thread afterwards."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _no_autosend(settings):
    # Queued messages wait for the test to run the sender (tests.outbound.deliver): with Huey
    # immediate, autosend would try the local catcher, which no test starts.
    settings.MESSAGING_AUTOSEND = False


@pytest.fixture(autouse=True)
def _english_terminal(monkeypatch):
    # The CLI speaks the terminal's language; tests read its English messages unless they
    # set another. Nobody's PEYVAND_USER leaks in from the shell running the tests.
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.delenv("PEYVAND_USER", raising=False)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Sign-in throttling counts live in the cache; no test may inherit another's failures.
    from django.core.cache import cache

    from peyvand.commerce.money import forget_display_unit

    cache.clear()
    forget_display_unit()  # the shop's display unit, read once a few seconds
    yield
    forget_display_unit()
    cache.clear()


@pytest.fixture(autouse=True)
def _one_sender_process(settings):
    # A helper sender process would open the real database, not the test one.
    settings.SENDER_PROCESSES = 1


@pytest.fixture
def make_user(db):
    from peyvand.accounts.actions import do_create_user

    def make(username: str = "owner", role: str = "owner", language: str = "en",
             password: str = "Correct-Horse-42"):
        return do_create_user(Actor.system("test"), username, role=role, password=password,
                              language=language)

    return make


@pytest.fixture
def owner(make_user):
    return make_user("owner", "owner")


@pytest.fixture
def owner_actor(owner):
    return Actor.for_user(owner, "ui")


@pytest.fixture
def actor_for(make_user):
    def make(role: str, via: str = "ui"):
        return Actor.for_user(make_user(f"{role}-user", role), via)

    return make
