"""`peyvand up` says when PEYVAND_PUBLIC_URL would send customers to the wrong place, or over
plain http."""

from __future__ import annotations

import pytest

from peyvand import cli as cli_module
from peyvand.cli import CommandFailed, public_url_warnings


@pytest.fixture
def public(settings):
    def configure(url: str = "", proxies: list[str] | None = None):
        settings.PEYVAND_PUBLIC_URL = url
        settings.PUBLIC_HTTPS = url.startswith("https://")
        settings.PUBLIC_PORT = int(url.rsplit(":", 1)[1]) if url.count(":") == 2 else \
            443 if settings.PUBLIC_HTTPS else 8000 if not url else 80
        settings.PEYVAND_TRUSTED_PROXIES = proxies or []

    return configure


def test_local_demo_defaults_say_nothing(public):
    public()
    assert public_url_warnings("127.0.0.1", 8000) == []


def test_plain_http_on_a_real_host_is_warned(public):
    public("http://crm.example.com:8000")
    [warning] = public_url_warnings("0.0.0.0", 8000)
    assert "plain http" in warning and "http://crm.example.com:8000" in warning


def test_another_port_than_the_one_served_is_warned(public):
    public()
    [warning] = public_url_warnings("127.0.0.1", 8001)
    assert "port 8000" in warning and "serves port 8001" in warning
    public("http://localhost:9000")
    [warning] = public_url_warnings("127.0.0.1", 8000)
    assert "port 9000" in warning


def test_unset_public_url_on_a_public_address_is_warned(public):
    public()
    assert any("not set" in w for w in public_url_warnings("0.0.0.0", 8000))


def test_https_without_a_trusted_proxy_is_warned(public):
    public("https://crm.example.com")
    [warning] = public_url_warnings("127.0.0.1", 8000)
    assert "PEYVAND_TRUSTED_PROXIES is empty" in warning


def test_https_behind_a_trusted_proxy_is_quiet_whatever_the_port(public):
    public("https://crm.example.com", ["127.0.0.1"])
    assert public_url_warnings("127.0.0.1", 8000) == []


def test_up_prints_the_warnings_before_serving(cli, public, monkeypatch):
    public("http://crm.example.com")

    def stop(host, port):
        raise CommandFailed("stopped here")

    monkeypatch.setattr(cli_module, "_check_bind", stop)
    code, out, err = cli("up", "--host", "0.0.0.0", "--port", "8001")
    assert code == 1 and out == ""
    assert "plain http" in err and "serves port 8001" in err and "stopped here" in err
