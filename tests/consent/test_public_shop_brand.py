"""Public pages (sign-up, preferences, unsubscribe) show the shop's name and logo."""

from __future__ import annotations

import pytest

from peyvand.base.actor import Actor
from peyvand.base.shop import do_save_shop_profile

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def test_no_brand_until_the_owner_sets_one(client, signup_form):
    page = client.get("/consent/f/spring/?lang=fa").content.decode()
    assert 'id="shop-brand"' not in page


def test_the_sign_up_page_shows_the_shop(client, signup_form, make_user):
    owner = Actor.for_user(make_user("owner", "owner"), "ui")
    do_save_shop_profile(owner, name="کافه پیوند", logo=PNG)
    for lang in ("fa", "en"):
        page = client.get(f"/consent/f/spring/?lang={lang}").content.decode()
        assert 'id="shop-brand"' in page and "کافه پیوند" in page
        assert 'src="data:image/png;base64,' in page
