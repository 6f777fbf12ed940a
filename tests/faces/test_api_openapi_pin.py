"""Every API operation keeps its method, path, operation id and tags, whichever app's router
serves it: the routers are found through the app registry, and this pins what they add up to.

tests/faces/api_operations.json was captured from the document before the routers were
registered by their apps; a new operation is added to it on purpose, in the same commit.
"""

from __future__ import annotations

import json
from pathlib import Path

PINNED = Path(__file__).with_name("api_operations.json")


def test_the_operations_are_the_pinned_ones(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = sorted([method.upper(), path, operation["operationId"], operation.get("tags", [])]
                    for path, item in response.json()["paths"].items()
                    for method, operation in item.items())
    assert served == json.loads(PINNED.read_text(encoding="utf-8"))
