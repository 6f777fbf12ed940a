from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from peyvand.base.actor import Actor


@pytest.fixture(autouse=True)
def _english():
    """Messages and report headers in English, whatever LANGUAGE_CODE says (pages and jobs
    still follow the user's language)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    """Uploads and reports of these tests stay in the test's own folder."""
    settings.IMPORT_DIR = tmp_path / "imports"
    return settings.IMPORT_DIR


@pytest.fixture
def signed_in(make_user):
    """A signed-in test client for a role and page language: signed_in("owner", "fa").
    (Not `browser`: that is Playwright's, which the Chromium tests here use.)"""
    def make(role: str = "marketer", language: str = "en") -> Client:
        client = Client()
        client.force_login(make_user(f"{role}-{language}-ui", role, language=language))
        return client

    return make


@pytest.fixture
def operator():
    return Actor.operator()


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(rows, encoding=, delimiter=, name=) -> Path of a CSV file."""
    counter = iter(range(10_000))

    def write(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",",
              name: str | None = None) -> Path:
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        path = tmp_path / (name or f"contacts-{next(counter)}.csv")
        path.write_bytes(buf.getvalue().encode(encoding))
        return path

    return write


def read_report(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Tests make users; the real hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
