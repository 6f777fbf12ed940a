"""The worker's INFO lines go to $PEYVAND_HOME/logs/worker.log unless PEYVAND_LOG_LEVEL asks
for the terminal; `up` waits for the worker's start line before its banner."""

import logging
import subprocess
import sys
import time

import pytest

from peyvand import serving


@pytest.fixture
def huey_logger():
    logger = logging.getLogger("huey")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield logger
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:], logger.level, logger.propagate = saved


def test_info_lines_go_to_the_log_file_by_default(settings, tmp_path, huey_logger):
    settings.LOG_LEVEL_ASKED = ""
    settings.HOME = tmp_path
    serving.setup_worker_logging()
    logging.getLogger("huey.consumer").info("Huey consumer started with 2 threads")
    [handler] = huey_logger.handlers
    handler.flush()
    assert isinstance(handler, logging.FileHandler)
    assert serving.worker_log_path() == tmp_path / "logs" / "worker.log"
    assert "Huey consumer started" in (tmp_path / "logs" / "worker.log").read_text()
    assert huey_logger.level == logging.INFO and not huey_logger.propagate


def test_peyvand_log_level_sends_them_to_the_terminal(settings, tmp_path,
                                                      huey_logger):
    settings.LOG_LEVEL_ASKED = "DEBUG"
    settings.HOME = tmp_path
    serving.setup_worker_logging()
    [handler] = huey_logger.handlers
    assert type(handler) is logging.StreamHandler
    assert huey_logger.level == logging.DEBUG
    assert not (tmp_path / "logs").exists()


def test_up_waits_for_this_runs_start_line_only(settings, tmp_path):
    settings.LOG_LEVEL_ASKED = ""
    settings.HOME = tmp_path
    settings.HUEY_IMMEDIATE = False
    log = tmp_path / "logs" / "worker.log"
    log.parent.mkdir()
    log.write_text("[old] INFO:huey.consumer:Huey consumer started with 2 threads\n")
    since = serving.worker_log_size()
    # A stand-in worker that writes its start line after a second.
    script = (f"import time; time.sleep(1); open({str(log)!r}, 'a')"
              ".write('INFO:huey.consumer:Huey consumer started\\n')")
    proc = subprocess.Popen([sys.executable, "-c", script + "; time.sleep(5)"])
    try:
        began = time.monotonic()
        assert serving.wait_for_worker([proc], began + 20, since) == log
        assert time.monotonic() - began >= 0.9  # the earlier run's line did not count
    finally:
        proc.kill()
        proc.wait()


def test_no_wait_when_the_worker_logs_to_the_terminal(settings):
    settings.LOG_LEVEL_ASKED = "INFO"
    settings.HUEY_IMMEDIATE = False
    assert serving.wait_for_worker([], time.monotonic() + 30) is None
