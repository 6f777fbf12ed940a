"""`peyvand contacts import FILE [--map COLUMN=field ...] [--tag T] [--report REJECTED.csv]`."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from peyvand.base.models import Job
from peyvand.contacts.models import Contact
from peyvand.imports.cli import add_contact_commands as add_commands
from tests.imports.conftest import read_report

pytestmark = pytest.mark.django_db


def peyvand_contacts(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="peyvand contacts")
    add_commands(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture
def sample(write_csv):
    return write_csv([["Name", "Contact", "Mobile"],
                      ["Ali", "ali@example.com", "09123456789"],
                      ["Bad", "nope", ""],
                      ["Ali again", "ali@example.com", ""]])


def test_summary_is_the_last_line_and_exit_zero_with_rejected_rows(sample, tmp_path, capsys):
    report = tmp_path / "rejected.csv"
    code = peyvand_contacts("import", str(sample), "--map", "Contact=email", "--tag", "cli",
                            "--report", str(report))
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[-1] == "read=3 created=1 updated=0 merged=1 rejected=1"
    assert "row 3: Contact:" in err and str(report) in err
    assert [(r["row"], r["column"], r["value"]) for r in read_report(report)] == [
        ("3", "Contact", "nope")]
    assert Contact.objects.get().tags.get().name == "cli"
    job = Job.objects.get()
    assert job.status == "done" and job.result["totals"]["read"] == 3
    # Again: nothing new, every row finds its contact.
    assert peyvand_contacts("import", str(sample), "--map", "Contact=email") == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "read=3 created=0 updated=2 merged=0 rejected=1"


def test_progress_bar_only_on_a_terminal(sample, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert peyvand_contacts("import", str(sample), "--map", "Contact=email") == 0
    assert "\r[" in terminal.getvalue() and "%" in terminal.getvalue()
    monkeypatch.undo()
    capsys.readouterr()
    assert peyvand_contacts("import", str(sample), "--map", "Contact=email") == 0
    assert "\r" not in capsys.readouterr().err  # piped: no bar


@pytest.mark.parametrize("content, message", [
    (b"\x00\x00\x00", "not a text file"),
    (b"", "empty"),
    (b"Name,Who\r\nAli,x\r\n", "E-mail or Mobile"),
])
def test_unreadable_or_unmappable_file_exits_non_zero(tmp_path, capsys, content, message):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    assert peyvand_contacts("import", str(path)) == 1
    out, err = capsys.readouterr()
    assert message in err and "Cannot import" in err and out == ""
    assert Job.objects.get().status == "failed"


def test_missing_file_and_bad_arguments(tmp_path, capsys):
    assert peyvand_contacts("import", str(tmp_path / "missing.csv")) == 1
    assert "Cannot import" in capsys.readouterr().err
    assert peyvand_contacts("import", str(tmp_path / "x.csv"), "--map", "email") == 2
    assert "COLUMN=FIELD" in capsys.readouterr().err
    assert peyvand_contacts("import", str(tmp_path / "x.csv"), "--report",
                            str(tmp_path / "no" / "such" / "r.csv")) == 1


def test_as_a_user_whose_role_may_not_import(sample, make_user, capsys):
    make_user("rita", "reviewer")
    assert peyvand_contacts("import", str(sample), "--as", "rita") == 3
    assert "Permission denied" in capsys.readouterr().err
    assert not Contact.objects.exists() and not Job.objects.exists()
    make_user("mona", "marketer")
    assert peyvand_contacts("import", str(sample), "--map", "Contact=email", "--as",
                            "mona") == 0
    assert Job.objects.get().created_by.username == "mona"
