"""base.errors.Invalid is handled once per face: the API answers it, the CLI prints it."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory
from django.utils import translation
from django.utils.translation import gettext_lazy

from peyvand import cli as cli_module
from peyvand.api import api
from peyvand.base.errors import Invalid
from peyvand.base.normalise import InvalidValue
from peyvand.cli import EXIT_FAILED, main
from peyvand.contacts.actions import IdentityConflict
from peyvand.messaging.actions import MessagingInvalid


def answer(exc: Exception) -> tuple[int, dict]:
    response = api.on_exception(RequestFactory().get("/api/v1/contacts"), exc)
    return response.status_code, json.loads(response.content)


def test_the_api_answers_every_app_s_invalid_with_one_shape():
    assert answer(MessagingInvalid({"tag": "No such tag."})) == (
        400, {"detail": "tag: No such tag.", "errors": {"tag": "No such tag."}})
    assert answer(InvalidValue("email", "Not an e-mail address.")) == (
        400, {"detail": "Not an e-mail address.", "errors": {"email": "Not an e-mail address."}})


def test_a_conflict_is_409_with_what_it_names():
    status, body = answer(IdentityConflict("external", "shop:1", 7))
    assert status == 409 and body["owner_id"] == 7
    assert list(body["errors"]) == ["external_ids"] and "#7" in body["detail"]
    status, body = answer(Invalid({"digest": "Look again."}, status=409))
    assert status == 409 and body["errors"] == {"digest": "Look again."}


def test_reasons_are_translated_when_shown():
    exc = Invalid({"body": gettext_lazy("Invalid input.")})
    with translation.override("fa"):
        persian = translation.gettext("Invalid input.")
        assert answer(exc)[1]["errors"] == {"body": persian}
    assert persian != "Invalid input." and answer(exc)[1]["errors"] == {"body": "Invalid input."}


@pytest.mark.django_db
def test_the_cli_prints_the_reason_and_fails(monkeypatch, capsys):
    monkeypatch.setenv("LC_ALL", "C.UTF-8")

    def refuse(args):
        raise InvalidValue("as_of", "Not a date.")

    monkeypatch.setattr(cli_module, "cmd_demo", refuse)
    assert main(["demo"]) == EXIT_FAILED
    assert capsys.readouterr().err == "Not a date.\n"
