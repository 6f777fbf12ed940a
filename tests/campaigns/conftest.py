from __future__ import annotations

import pytest

from tests.messaging.conftest import (  # noqa: F401 (fixtures)
    api_for,
    client_for,
    make_contact,
    system,
    template,
)


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PEYVAND_PUBLIC_URL = "https://crm.example"
