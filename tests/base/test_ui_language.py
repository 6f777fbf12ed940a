"""The page direction follows the language, and the switch is remembered."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def _html_tag(response) -> str:
    return re.search(r"<html[^>]*>", response.content.decode())[0]


@pytest.mark.parametrize("language,direction", [("fa", "rtl"), ("en", "ltr")])
def test_html_lang_and_dir_follow_the_users_language(client_for, language, direction):
    client = client_for("owner", language)
    tag = _html_tag(client.get("/"))
    assert f'lang="{language}"' in tag and f'dir="{direction}"' in tag


def test_switch_saves_the_profile_and_the_cookie(client_for):
    client = client_for("marketer", "en")
    response = client.post("/accounts/language/", {"language": "fa", "next": "/contacts/"})
    assert response.status_code == 302 and response["Location"] == "/contacts/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fa"
    client.user.profile.refresh_from_db()
    assert client.user.profile.language == "fa"
    assert 'dir="rtl"' in _html_tag(client.get("/contacts/"))
    # The profile wins over a stale cookie on another device.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert 'lang="fa"' in _html_tag(client.get("/"))


def test_anonymous_switch_sets_the_cookie_for_the_sign_in_page(client):
    assert 'lang="fa"' in _html_tag(client.get("/accounts/login/"))
    response = client.post("/accounts/language/", {"language": "en",
                                                   "next": "/accounts/login/"})
    assert response["Location"] == "/accounts/login/"
    assert 'lang="en" dir="ltr"' in _html_tag(client.get("/accounts/login/"))


def test_switch_refuses_unknown_languages_and_foreign_redirects(client_for):
    client = client_for("owner", "en")
    response = client.post("/accounts/language/", {"language": "de", "next": "/contacts/"})
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    client.user.profile.refresh_from_db()
    assert client.user.profile.language == "en"
    response = client.post("/accounts/language/", {"language": "fa",
                                                   "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert client.get("/accounts/language/").status_code == 405


def test_page_links_the_stylesheet_and_it_is_served(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/static/peyvand/peyvand.css"' in html
    assert 'src="/static/peyvand/peyvand.js"' in html
    for asset in ("/static/peyvand/peyvand.css", "/static/peyvand/peyvand.js"):
        assert client.get(asset).status_code == 200, asset
    css = b"".join(client.get("/static/peyvand/peyvand.css").streaming_content).decode()
    # Written with logical properties so dir="rtl" lays out without a second stylesheet.
    assert "margin-inline-start" in css
    assert not any(f"{prop}-left" in css or f"{prop}-right" in css
                   for prop in ("margin", "padding", "border"))
    # Fonts only from this server: the bundled Vazirmatn, its three weights and licence.
    urls = re.findall(r'url\("([^"]+)"\)', css)
    assert sorted(urls) == ["fonts/Vazirmatn-Bold.woff2", "fonts/Vazirmatn-Regular.woff2",
                            "fonts/Vazirmatn-SemiBold.woff2"]
    assert sorted(re.findall(r"@font-face \{[^}]*font-weight: (\d+)", css)) == ["400", "600",
                                                                                "700"]
    for url in urls + ["fonts/Vazirmatn-OFL.txt"]:
        response = client.get("/static/peyvand/" + url)
        assert response.status_code == 200, url
    licence = b"".join(client.get("/static/peyvand/fonts/Vazirmatn-OFL.txt")
                       .streaming_content).decode()
    assert "SIL Open Font License" in licence
