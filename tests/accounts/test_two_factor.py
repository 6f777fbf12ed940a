"""Two-factor sign-in with an authenticator app: setting it up, signing in with the code,
owners required to when PEYVAND_REQUIRE_2FA=1, turning off, resets."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from peyvand.accounts.twofactor import pending_device
from peyvand.base.models import AuditEntry

from .conftest import PASSWORD, ROLES, code

pytestmark = pytest.mark.django_db


def enrol(client, user) -> TOTPDevice:
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    used = code(device)
    response = client.post("/accounts/two-factor/", {"action": "confirm", "code": used})
    assert response.status_code == 302
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    device.used_code = used
    return device


def password_step(client, username: str, next_url: str = ""):
    data = {"username": username, "password": PASSWORD}
    url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data)


def test_setting_up_shows_a_qr_code_drawn_here_and_the_key(signed_in):
    client = signed_in("marketer")
    page = client.get("/accounts/two-factor/").content.decode()
    device = pending_device(client.user)
    assert "<svg" in page and "<img" not in page and "http" not in page.split("<svg", 1)[1][:40]
    assert 'data-two-factor="setup"' in page
    secret = page.split("data-secret>", 1)[1].split("<", 1)[0]
    import base64

    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key


def test_a_wrong_code_does_not_turn_it_on_the_right_one_does(signed_in):
    client = signed_in("support")
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=client.user)
    wrong = client.post("/accounts/two-factor/", {"action": "confirm", "code": "000000"
                                                  if code(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code paused the next try for a second
    device.save()
    enrol(client, client.user)
    assert AuditEntry.objects.get(action="2fa.enable").target_id == str(client.user.pk)
    assert 'data-two-factor="on"' in client.get("/accounts/two-factor/").content.decode()


def test_sign_in_waits_for_the_code(browser_client, signed_in):
    setup = signed_in("analyst", "reza")
    device = enrol(setup, setup.user)
    client = browser_client
    response = password_step(client, "reza", "/contacts/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    # The password alone signs nobody in.
    assert "_auth_user_id" not in client.session
    assert client.get("/contacts/").status_code == 302
    page = client.get("/accounts/login/verify/")
    assert page.status_code == 200 and "reza" in page.content.decode()
    assert "not right" in client.post("/accounts/login/verify/", {"code": "12"}).content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()
    # Persian digits, as a phone keyboard types them, are fine; the code of the set-up step
    # was used already, so the next one.
    persian = code(device, 1).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    done = client.post("/accounts/login/verify/", {"code": persian})
    assert done.status_code == 302 and done["Location"] == "/contacts/"
    assert client.get("/contacts/").status_code == 200


def test_each_code_works_once(browser_client, signed_in):
    setup = signed_in("marketer", "sara")
    device = enrol(setup, setup.user)
    password_step(browser_client, "sara")
    response = browser_client.post("/accounts/login/verify/", {"code": device.used_code})
    assert response.status_code == 200 and "_auth_user_id" not in browser_client.session


def test_wrong_codes_pause_verification(browser_client, signed_in):
    setup = signed_in("marketer", "sara")
    device = enrol(setup, setup.user)
    password_step(browser_client, "sara")
    for _ in range(3):
        browser_client.post("/accounts/login/verify/", {"code": "000000"})
    response = browser_client.post("/accounts/login/verify/", {"code": code(device, 1)})
    assert "Too many wrong codes" in response.content.decode()
    assert "_auth_user_id" not in browser_client.session


def test_the_password_step_expires(browser_client, signed_in, settings):
    setup = signed_in("marketer", "sara")
    device = enrol(setup, setup.user)
    password_step(browser_client, "sara")
    settings.TWO_FACTOR_PENDING_SECONDS = -1
    response = browser_client.post("/accounts/login/verify/", {"code": code(device, 1)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in browser_client.session


def test_without_an_authenticator_sign_in_is_as_before(browser_client, make_user):
    make_user("plain", "support")
    response = password_step(browser_client, "plain")
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.parametrize("role", ROLES)
def test_required_for_owners_only(settings, browser_client, make_user, role):
    settings.PEYVAND_REQUIRE_2FA = True
    user = make_user("person", role)
    assert password_step(browser_client, "person").status_code == 302
    dashboard = browser_client.get("/")
    if role != "owner":
        assert dashboard.status_code == 200
        return
    # Signed in by password, but no page until the authenticator is set up.
    assert dashboard.status_code == 302 and dashboard["Location"] == "/accounts/two-factor/"
    assert browser_client.get("/accounts/users/").status_code == 302
    page = browser_client.get("/accounts/two-factor/").content.decode()
    assert "Owners must use two-factor sign-in" in page
    device = enrol(browser_client, user)
    assert browser_client.get("/").status_code == 200
    # It cannot be turned off while required.
    refused = browser_client.post("/accounts/two-factor/",
                                  {"action": "disable", "code": code(device, 1)})
    assert refused.status_code == 200 and TOTPDevice.objects.filter(user=user).exists()


def test_a_session_without_the_code_is_asked_for_it(settings, make_user):
    settings.PEYVAND_REQUIRE_2FA = True
    owner = make_user("boss", "owner")
    TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    client = Client()
    client.force_login(owner)  # e.g. a session from before the authenticator was set up
    response = client.get("/contacts/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/?next=%2Fcontacts%2F"


def test_turning_off_needs_a_current_code(signed_in):
    client = signed_in("reviewer")
    device = enrol(client, client.user)
    client.post("/accounts/two-factor/", {"action": "disable", "code": "99999"})
    assert TOTPDevice.objects.filter(user=client.user).exists()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()
    response = client.post("/accounts/two-factor/", {"action": "disable",
                                                     "code": code(device, 1)})
    assert response.status_code == 302 and not TOTPDevice.objects.filter(user=client.user)
    assert AuditEntry.objects.filter(action="2fa.disable").exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_an_owner_resets_someone_elses(signed_in, make_user, role):
    lost = make_user("lost", "support")
    TOTPDevice.objects.create(user=lost, name="phone", confirmed=True)
    client = signed_in(role)
    response = client.post(f"/accounts/users/{lost.pk}/two-factor/reset/")
    if role == "owner":
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=lost).exists()
        assert AuditEntry.objects.get(action="2fa.reset").summary == "lost"
    else:
        assert response.status_code == 403
        assert TOTPDevice.objects.filter(user=lost).exists()
        assert not AuditEntry.objects.filter(action="2fa.reset").exists()


def test_users_page_shows_who_has_it(signed_in, make_user):
    TOTPDevice.objects.create(user=make_user("with", "support"), name="p", confirmed=True)
    make_user("without", "support")
    page = signed_in("owner").get("/accounts/users/").content.decode()
    row_with = page.split('data-user="with"', 1)[1].split("</tr>", 1)[0]
    row_without = page.split('data-user="without"', 1)[1].split("</tr>", 1)[0]
    assert "two-factor/reset" in row_with and "two-factor/reset" not in row_without


def test_the_code_step_speaks_the_language_of_who_is_signing_in(client, make_user):
    from peyvand.accounts.twofactor import pending_device as make_device

    user = make_user("emma", "marketer", language="en")
    device = make_device(user)
    device.confirmed = True
    device.save()
    password_step(client, "emma")  # no language cookie: the sign-in page is Persian
    page = client.get("/accounts/login/verify/")
    assert page["Content-Language"] == "en" and "Type the code from your app" in \
        page.content.decode()
