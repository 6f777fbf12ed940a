"""The shop's name and logo: set by the owner under Settings → Shop, checked, audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from peyvand.base.actor import Actor
from peyvand.base.errors import Invalid
from peyvand.base.models import AuditEntry, ShopProfile
from peyvand.base.shop import LOGO_MAX_BYTES, do_save_shop_profile, shop_profile

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def test_the_owner_sets_name_and_logo_and_it_is_audited(make_user):
    owner = Actor.for_user(make_user("owner", "owner"), "ui")
    assert shop_profile().name == "" and shop_profile().pk is None
    profile = do_save_shop_profile(owner, name="  فروشگاه  نمونه ", logo=PNG)
    assert profile.name == "فروشگاه نمونه"
    assert profile.logo.startswith("data:image/png;base64,")
    again = do_save_shop_profile(owner, name="Nemune", remove_logo=True)
    assert again.pk == profile.pk and again.logo == "" and ShopProfile.objects.count() == 1
    assert AuditEntry.objects.filter(action="shop.profile_saved").count() == 2


@pytest.mark.parametrize("data", [b"<svg onload=alert(1)>", b"GIF" + b"x" * 10,
                                  PNG + b"\x00" * LOGO_MAX_BYTES])
def test_only_small_images_are_taken(make_user, data):
    owner = Actor.for_user(make_user("owner", "owner"), "ui")
    with pytest.raises(Invalid) as exc:
        do_save_shop_profile(owner, name="x", logo=data)
    assert "logo" in exc.value.errors
    assert not ShopProfile.objects.exists()


def test_other_roles_may_not(make_user):
    with pytest.raises(PermissionDenied):
        do_save_shop_profile(Actor.for_user(make_user("m", "marketer"), "ui"), name="x")


def test_the_settings_page_saves_an_upload(make_user):
    client = Client()
    client.force_login(make_user("owner", "owner", language="fa"))
    page = client.get("/settings/shop/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    response = client.post("/settings/shop/", {
        "name": "کافه پیوند", "logo": SimpleUploadedFile("logo.png", PNG, "image/png")})
    assert response.status_code == 302
    page = client.get("/settings/shop/").content.decode()
    assert 'value="کافه پیوند"' in page and 'id="current-logo"' in page
    bad = client.post("/settings/shop/", {
        "name": "x", "logo": SimpleUploadedFile("logo.svg", b"<svg/>", "image/svg+xml")})
    assert bad.status_code == 200 and "field-error" in bad.content.decode()
    assert shop_profile().name == "کافه پیوند"
