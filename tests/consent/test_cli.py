"""`peyvand consent …` commands."""

from __future__ import annotations

from peyvand.consent.models import ConsentState, SmsInbound


def test_churn_prints_csv(cli, person, subscribe, tmp_path):
    subscribe(person())
    code, out, _err = cli("consent", "churn", "--period", "week", "--periods", "2")
    assert code == 0
    assert out.splitlines()[0] == "period_start,period,channel,base,opt_outs,rate"
    target = tmp_path / "churn.csv"
    code, out, _err = cli("consent", "churn", "--by", "topic", "--output", str(target))
    assert code == 0 and target.read_text().startswith("period_start,period,topic")


def test_check_finds_and_repairs_a_drifted_cache(cli, person, subscribe):
    contact = subscribe(person())
    assert cli("consent", "check")[0] == 0
    ConsentState.objects.filter(contact=contact, topic=None).update(status="out")
    code, out, _err = cli("consent", "check")
    assert code == 1 and "1 cached states differ" in out
    code, out, _err = cli("consent", "check", "--repair")
    assert code == 0 and "1 rebuilt" in out
    assert ConsentState.objects.get(contact=contact, topic=None).status == "in"


def test_sms_hook_add(cli, make_user):
    code, out, _err = cli("consent", "sms-hook", "add", "Kavenegar")
    gateway = SmsInbound.objects.get()
    assert code == 0 and gateway.name == "kavenegar"
    assert f"/consent/hooks/sms/{gateway.token}/" in out
    make_user("mark", "marketer")
    assert cli("consent", "sms-hook", "add", "other", "--as", "mark")[0] == 3
