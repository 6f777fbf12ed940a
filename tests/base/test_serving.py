"""How `peyvand up` sizes granian: one blocking thread a process, a process per CPU (2 to 4)."""

from __future__ import annotations

import pytest

from peyvand import serving
from peyvand.settings import _env_count


@pytest.mark.parametrize(("cpus", "workers", "senders"), [
    (1, 2, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4), (16, 4, 4), (None, 2, 1)])
def test_default_sizes_follow_the_cpus(settings, monkeypatch, cpus, workers, senders):
    settings.WEB_WORKERS = settings.WEB_THREADS = settings.SENDER_PROCESSES = None
    monkeypatch.setattr(serving.os, "cpu_count", lambda: cpus)
    assert serving.web_workers() == workers
    assert serving.web_threads() == 1
    assert serving.sender_processes() == senders


@pytest.mark.parametrize(("given", "expected"), [("7", 7), (" 1 ", 1), ("0", None), ("x", None),
                                                 ("", None)])
def test_environment_overrides_only_with_a_positive_number(monkeypatch, given, expected):
    monkeypatch.setenv("PEYVAND_WEB_WORKERS", given)
    assert _env_count("PEYVAND_WEB_WORKERS") == expected


def test_a_setting_overrides_the_cpus(settings, monkeypatch):
    monkeypatch.setattr(serving.os, "cpu_count", lambda: 2)
    settings.WEB_WORKERS = 7
    assert serving.web_workers() == 7


def test_granian_command_carries_the_sizes(settings):
    settings.WEB_WORKERS = 3
    settings.WEB_THREADS = 2
    command = serving.granian_command("127.0.0.1", 8000, "app:application", "--log-level",
                                      "warning")
    assert command[1:5] == ["-m", "granian", "--interface", "wsgi"]
    assert command[command.index("--workers") + 1] == "3"
    assert command[command.index("--blocking-threads") + 1] == "2"
    assert command[-3:] == ["--log-level", "warning", "app:application"]
