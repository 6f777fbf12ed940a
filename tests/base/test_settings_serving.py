"""Settings behind TLS and a reverse proxy come from the environment alone, and unsafe
combinations refuse to start. Each case imports peyvand.settings in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

NAMES = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
         "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "CSRF_TRUSTED_ORIGINS",
         "ALLOWED_HOSTS", "PEYVAND_TRUSTED_PROXIES", "PUBLIC_ORIGIN", "PUBLIC_PORT", "DEBUG",
         "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS", "EMAIL_USE_SSL"]
SCRIPT = ("import json, peyvand.settings as s; "
          f"print(json.dumps({{n: getattr(s, n, None) for n in {NAMES!r}}}))")


def load(tmp_path, **env: str) -> dict:
    """peyvand.settings as a server started with `env` would have it, or the refusal."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("PEYVAND_") and k not in ("DATABASE_URL", "REDIS_URL",
                                                             "SECRET_KEY")}
    environ.update(PEYVAND_HOME=str(tmp_path), **env)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=environ, capture_output=True,
                          text=True, timeout=60)
    if done.returncode:
        return {"refused": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout)


def test_https_behind_a_trusted_proxy_turns_everything_on(tmp_path):
    s = load(tmp_path, PEYVAND_PUBLIC_URL="https://CRM.example.com/",
             PEYVAND_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"]
    assert s["SECURE_HSTS_SECONDS"] == 31536000
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://crm.example.com"]
    assert "crm.example.com" in s["ALLOWED_HOSTS"]
    assert s["PEYVAND_TRUSTED_PROXIES"] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert s["PUBLIC_PORT"] == 443


def test_plain_http_keeps_cookies_usable_and_sends_no_hsts(tmp_path):
    s = load(tmp_path, PEYVAND_PUBLIC_URL="http://127.0.0.1:8000")
    assert not s["SESSION_COOKIE_SECURE"] and not s["CSRF_COOKIE_SECURE"]
    assert not s["SECURE_HSTS_SECONDS"] and not s["SECURE_SSL_REDIRECT"]
    assert s["SECURE_PROXY_SSL_HEADER"] is None
    assert s["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:8000"]


def test_without_trusted_proxies_no_client_can_claim_https(tmp_path):
    # A forged X-Forwarded-Proto must never count: no proxy header, and no redirect loop.
    s = load(tmp_path, PEYVAND_PUBLIC_URL="https://crm.example.com:8443")
    assert s["SESSION_COOKIE_SECURE"] and s["SECURE_HSTS_SECONDS"]
    assert s["SECURE_PROXY_SSL_HEADER"] is None and s["SECURE_SSL_REDIRECT"] is False
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://crm.example.com:8443"]
    assert s["PUBLIC_PORT"] == 8443


def test_hsts_can_be_turned_down(tmp_path):
    s = load(tmp_path, PEYVAND_PUBLIC_URL="https://crm.example.com", PEYVAND_HSTS_SECONDS="0")
    assert s["SECURE_HSTS_SECONDS"] == 0 and s["SESSION_COOKIE_SECURE"]


@pytest.mark.parametrize(("env", "reason"), [
    ({"PEYVAND_PUBLIC_URL": "crm.example.com"}, "http:// or https://"),
    ({"PEYVAND_PUBLIC_URL": "ftp://crm.example.com"}, "http:// or https://"),
    ({"PEYVAND_PUBLIC_URL": "https://crm.example.com:99999"}, "http:// or https://"),
    ({"PEYVAND_PUBLIC_URL": "https://crm.example.com/crm"}, "without a path"),
    ({"PEYVAND_PUBLIC_URL": "https://u:p@crm.example.com"}, "without a path"),
    ({"PEYVAND_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "“proxy.local” is not an IP"),
    ({"PEYVAND_TRUSTED_PROXIES": "0.0.0.0/0"}, "may not trust every address"),
    ({"PEYVAND_TRUSTED_PROXIES": "::/0"}, "may not trust every address"),
    ({"PEYVAND_PUBLIC_URL": "https://crm.example.com", "PEYVAND_HSTS_SECONDS": "a year"},
     "PEYVAND_HSTS_SECONDS"),
    ({"PEYVAND_SMTP_URL": "ftp://mail.example"}, "PEYVAND_SMTP_URL must be smtp://"),
    ({"PEYVAND_SMTP_URL": "smtp://"}, "PEYVAND_SMTP_URL must be smtp://"),
    ({"PEYVAND_SMTP_URL": "smtp://mail.example?connections=many"},
     "PEYVAND_SMTP_URL must be smtp://"),
])
def test_unusable_values_refuse_to_start(tmp_path, env, reason):
    refused = load(tmp_path, **env).get("refused", "")
    assert "ImproperlyConfigured" in refused and reason in refused


@pytest.mark.parametrize("hosts", ["crm.example.com", "127.0.0.1,10.1.2.3", "*", ".example.com"])
def test_debug_refuses_any_host_name_that_is_not_loopback(tmp_path, hosts):
    refused = load(tmp_path, PEYVAND_DEBUG="1", PEYVAND_ALLOWED_HOSTS=hosts).get("refused", "")
    assert "PEYVAND_DEBUG=1" in refused and "Not loopback" in refused


def test_debug_refuses_a_public_url_elsewhere(tmp_path):
    refused = load(tmp_path, PEYVAND_DEBUG="1",
                   PEYVAND_PUBLIC_URL="https://crm.example.com").get("refused", "")
    assert "crm.example.com" in refused


def test_debug_on_loopback_names_starts(tmp_path):
    s = load(tmp_path, PEYVAND_DEBUG="1",
             PEYVAND_ALLOWED_HOSTS="127.0.0.1,localhost,[::1],app.localhost,127.0.0.2")
    assert s["DEBUG"] is True


def test_the_smtp_url_is_parsed_once_into_the_mail_settings(tmp_path):
    s = load(tmp_path, PEYVAND_SMTP_URL="smtp://u%40x:pw@mail.example?starttls=true")
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"], s["EMAIL_HOST_USER"]) == \
        ("mail.example", 587, "u@x")
    assert s["EMAIL_USE_TLS"] is True and s["EMAIL_USE_SSL"] is False
    s = load(tmp_path, PEYVAND_CATCHER_PORT="2025")
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"]) == ("127.0.0.1", 2025)
