"""Acceptance 6: with no SMTP configured, mail goes to the local catcher and shows on its page."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.messaging.sink import free_port

pytestmark = pytest.mark.skipif("peyvand.mailcatcher" not in settings.INSTALLED_APPS,
                                reason="the mail catcher app is not installed yet")


@pytest.mark.django_db(transaction=True)
def test_broadcast_lands_in_the_catcher_and_its_page(make_contact, template, owner_actor,
                                                     settings, client):
    from django.urls import reverse

    from peyvand.mailcatcher.models import CaughtMail
    from peyvand.mailcatcher.server import make_server
    from peyvand.messaging.actions import do_create_broadcast
    from peyvand.messaging.sender import Sender
    from peyvand.messaging.smtp import smtp_config

    port = free_port()
    settings.PEYVAND_SMTP = None
    settings.CATCHER_PORT = port
    assert smtp_config().catcher and smtp_config().port == port
    server = make_server("127.0.0.1", port)
    server.start()
    try:
        make_contact("sara@example.com", first_name="سارا", tags=["vip"])
        do_create_broadcast(owner_actor, template("hello"), "vip")
        stats = Sender().run()
    finally:
        server.stop()
    assert stats.sent == 1
    mail = CaughtMail.objects.get()
    assert mail.to == ["sara@example.com"] and mail.subject == "سلام سارا"
    client.force_login(owner_actor.user)
    page = client.get(reverse("mailcatcher:list")).content.decode()
    assert "سلام سارا" in page
