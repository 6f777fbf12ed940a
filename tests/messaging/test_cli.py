"""`peyvand send`."""

from __future__ import annotations

from peyvand.cli import main
from peyvand.messaging.models import Broadcast


def test_send_prints_id_and_counts(make_contact, template, capsys, make_user):
    make_contact(tags=["vip"])
    make_contact(tags=["vip"])
    make_contact(phone="09121112233", tags=["vip"])  # no e-mail
    template("promo")
    assert main(["send", "--template", "promo", "--tag", "vip"]) == 0
    out = capsys.readouterr().out
    item = Broadcast.objects.get()
    assert f"#{item.pk}" in out and "2 messages queued" in out and "1 contacts" in out
    assert item.status == "queued" and item.created_by.startswith("operator:")

    make_user("mk", "marketer")
    assert main(["send", "--template", "promo", "--tag", "vip", "--as", "mk",
                 "--class", "marketing"]) == 0
    assert "approval" in capsys.readouterr().out
    make_user("an", "analyst")
    assert main(["send", "--template", "promo", "--tag", "vip", "--as", "an"]) == 3
    assert main(["send", "--template", "nope", "--tag", "vip"]) == 1
