from __future__ import annotations

import pytest

from peyvand.base.actor import Actor

# Tests live with their app (tests/<app>/, the app's API, UI and CLI tests included); the
# root faces (peyvand/cli.py, api.py, urls.py and the page frame) are tested in tests/faces/.
# Shared fixtures are plugins: one Playwright/Chromium for the whole session, whichever folder
# a browser test is in (two sync Playwright instances in one thread refuse to start), and the
# clients and helpers every face test uses.
pytest_plugins = ["tests.fixtures.browser", "tests.fixtures.faces", "tests.outbound"]


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

    cache.clear()
    yield
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
