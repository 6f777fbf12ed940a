"""`peyvand consent …` commands."""

from __future__ import annotations

import pytest

from peyvand.cli import main
from peyvand.consent.models import ConsentState, SmsInbound


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch):
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.delenv("PEYVAND_USER", raising=False)


def run(capsys, *args):
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_churn_prints_csv(capsys, person, subscribe, tmp_path):
    subscribe(person())
    code, out, _err = run(capsys, "consent", "churn", "--period", "week", "--periods", "2")
    assert code == 0
    assert out.splitlines()[0] == "period_start,period,channel,base,opt_outs,rate"
    target = tmp_path / "churn.csv"
    code, out, _err = run(capsys, "consent", "churn", "--by", "topic", "--output", str(target))
    assert code == 0 and target.read_text().startswith("period_start,period,topic")


def test_check_finds_and_repairs_a_drifted_cache(capsys, person, subscribe):
    contact = subscribe(person())
    assert run(capsys, "consent", "check")[0] == 0
    ConsentState.objects.filter(contact=contact, topic=None).update(status="out")
    code, out, _err = run(capsys, "consent", "check")
    assert code == 1 and "1 cached states differ" in out
    code, out, _err = run(capsys, "consent", "check", "--repair")
    assert code == 0 and "1 rebuilt" in out
    assert ConsentState.objects.get(contact=contact, topic=None).status == "in"


def test_sms_hook_add(capsys, make_user):
    code, out, _err = run(capsys, "consent", "sms-hook", "add", "Kavenegar")
    gateway = SmsInbound.objects.get()
    assert code == 0 and gateway.name == "kavenegar"
    assert f"/consent/hooks/sms/{gateway.token}/" in out
    make_user("mark", "marketer")
    assert run(capsys, "consent", "sms-hook", "add", "other", "--as", "mark")[0] == 3
