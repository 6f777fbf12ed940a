"""Bad query strings get a 400 with the reason, never a 500: an unknown filter condition on the
contact list, and NUL (which PostgreSQL refuses in any query) in any page's query string."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["field=x&op=x&value=x", "op=nope", "field=&op=x&value=x"])
def test_an_unknown_condition_shows_its_reason(owner_client, make_contact, query):
    make_contact(first_name="Hidden")
    response = owner_client.get(f"/contacts/?{query}")
    assert response.status_code == 400
    form = response.context["form"]
    assert "op" in form.errors
    assert "Hidden" not in response.content.decode()  # nothing is searched on a bad filter


@pytest.mark.parametrize("url", ["/contacts/?q=%00", "/contacts/?q=a%00b&tag=vip",
                                 "/commerce/orders/?q=%00", "/commerce/orders/?status=%00",
                                 "/insights/customers/?tier=%00",
                                 "/consent/suppressions/?channel=%00"])
def test_nul_in_a_query_string_is_400_with_a_reason(owner_client, url):
    response = owner_client.get(url)
    assert response.status_code == 400, url
    page = response.content.decode()
    assert "NUL" in page and response["Content-Type"].startswith("text/html")


def test_the_reason_is_in_the_persons_language(client_for):
    response = client_for("owner", "fa").get("/contacts/?q=%00")
    assert response.status_code == 400
    assert "نویسهٔ NUL" in response.content.decode()


def test_a_readable_filter_still_works(owner_client, make_contact):
    make_contact(first_name="Shown")
    response = owner_client.get("/contacts/?q=Shown&op=eq")
    assert response.status_code == 200 and "Shown" in response.content.decode()
