"""The client's address through trusted proxies only; forwarding headers from anyone else
count for nothing; links never follow the request's Host header."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from peyvand.base.http import client_ip

PROXY = "10.0.0.2"


def ip_of(remote: str, forwarded: str | None = None) -> str | None:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.PEYVAND_TRUSTED_PROXIES = []
    assert ip_of("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert ip_of("not an address") is None


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    # The proxy appended the real peer; whatever the client wrote before it is not believed.
    (PROXY, "198.51.100.1", "198.51.100.1"),
    (PROXY, "1.1.1.1, 198.51.100.1", "198.51.100.1"),
    # Two trusted hops (a CDN edge in the trusted range, then the local proxy).
    (PROXY, "198.51.100.1, 10.9.9.9", "198.51.100.1"),
    (PROXY, "198.51.100.1:51234", "198.51.100.1"),
    (PROXY, "[2001:db8::7]:443", "2001:db8::7"),
    (PROXY, "::ffff:198.51.100.1", "198.51.100.1"),
    # Nothing forwarded, or only garbage next to us: the proxy itself is all we know.
    (PROXY, None, PROXY),
    (PROXY, "garbage", PROXY),
    (PROXY, "198.51.100.1, garbage", PROXY),
    # Every hop is ours: the farthest one is the client (an office behind the proxy).
    (PROXY, "10.5.5.5, 10.6.6.6", "10.5.5.5"),
    # A client outside the trusted range cannot choose its address.
    ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
    ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),
])
def test_walks_x_forwarded_for_from_the_right_through_trusted_hops(settings, remote, forwarded,
                                                                    expected):
    settings.PEYVAND_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ip_of(remote, forwarded) == expected


def test_the_old_import_path_still_works():
    from peyvand.consent.views import client_ip as reexported

    assert reexported is client_ip


@pytest.fixture
def behind_proxy(settings):
    settings.PEYVAND_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    settings.SECURE_HSTS_SECONDS = 3600


@pytest.mark.django_db
def test_only_a_trusted_proxy_can_say_the_request_came_over_https(behind_proxy):
    client = Client()
    through_proxy = client.get("/accounts/login/", REMOTE_ADDR=PROXY,
                               HTTP_X_FORWARDED_PROTO="https")
    assert through_proxy.status_code == 200
    assert through_proxy["Strict-Transport-Security"] == "max-age=3600"
    forged = client.get("/accounts/login/", REMOTE_ADDR="203.0.113.9",
                        HTTP_X_FORWARDED_PROTO="https")
    assert forged.status_code == 301 and forged["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in forged
    # The start-up probe of `peyvand up` speaks plain HTTP to the server itself.
    assert client.get("/healthz", REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_sign_in_throttling_counts_each_client_behind_the_proxy(behind_proxy, settings,
                                                                make_user):
    settings.LOGIN_THROTTLE_ATTEMPTS = 1  # an address is paused after 4 failures
    make_user("alice", "marketer")
    make_user("bob", "marketer")
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    def login(who: str, password: str, forwarded: str, remote: str = PROXY):
        return client.post("/accounts/login/", {"username": who, "password": password},
                           REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO="https",
                           HTTP_X_FORWARDED_FOR=forwarded)

    for n in range(4):
        login(f"nobody{n}", "wrong", "198.51.100.1")
    assert b"Too many" in login("alice", "Correct-Horse-42", "198.51.100.1").content
    # Another customer of the same proxy is not locked out with them …
    assert login("bob", "Correct-Horse-42", "198.51.100.2").status_code == 302
    client.post("/accounts/logout/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    # … and the one paused cannot escape by writing another address in the header: the
    # proxy appends the real one, which is what counts.
    assert b"Too many" in login("alice", "Correct-Horse-42", "203.0.113.50, 198.51.100.1")\
        .content


@pytest.mark.django_db
def test_links_never_follow_the_host_header(settings, owner):
    from peyvand.base.actor import Actor
    from peyvand.commerce.actions import do_create_source

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    settings.PEYVAND_PUBLIC_URL = "https://crm.example.com"
    source = do_create_source(Actor.system("test"), "woocommerce", "shop", "IRT")
    client = Client()
    client.force_login(owner)
    page = client.get(f"/commerce/sources/{source.pk}/", HTTP_HOST="evil.example")
    assert f"https://crm.example.com/hooks/woocommerce/{source.token}/" in page.content.decode()
    assert "evil.example" not in page.content.decode()
