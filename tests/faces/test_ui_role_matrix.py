"""The role matrix of the web UI: every view the URL resolver knows names the capability it
needs (or why it needs none), and for every role, signed in, the page is refused (403) exactly
when the role lacks it. Keyed by URL name, so views may move between modules freely."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from peyvand.accounts.actions import do_create_token, do_create_user
from peyvand.accounts.models import ApiToken
from peyvand.audiences.actions import do_create_segment
from peyvand.base.actor import Actor
from peyvand.base.models import Job
from peyvand.base.roles import CAPABILITIES, can
from peyvand.commerce.actions import do_create_source
from peyvand.commerce.models import WebhookDelivery
from peyvand.contacts.actions import do_create_contact
from peyvand.journeys.actions import do_save_journey
from peyvand.mailcatcher.models import CaughtMail
from peyvand.messaging.models import OutboxMessage
from peyvand.messaging.strategy import do_save_rule
from peyvand.support.models import StaffTask
from tests.fixtures.faces import campaign_of, one_of_everything

pytestmark = pytest.mark.django_db

ROLES = ["owner", "marketer", "reviewer", "support", "analyst"]
NO_ROLE = ""
# Every signed-in user, role or none, on their own things (an owner's users.manage reaches
# everyone's tokens, which scopes the page rather than refusing it).
SELF = "self"

# Views no role decides, each with the reason; the API has its own matrix
# (tests/faces/test_api_role_matrix.py).
NOT_IN_MATRIX = {
    "healthz": "the load balancer's probe, anonymous",
    "accounts:login": "signing in comes before any role",
    "accounts:login_verify": "the second sign-in step, before any role",
    "accounts:set_language": "the sign-in page's language picker too, anonymous",
    "consent:signup": "the public sign-up form",
    "consent:signup_code": "the public sign-up form's SMS code step",
    "consent:confirm": "double opt-in link, signed",
    "consent:preferences": "a person's own preference page, signed link",
    "consent:unsubscribe": "unsubscribe link, signed",
    "consent:one_click": "RFC 8058 one-click unsubscribe, signed",
    "consent:sms_hook": "the SMS gateway's callback, authenticated by its token",
    "hooks:woocommerce": "a shop's webhook, authenticated by its source's secret",
    "tracking:open": "open pixel, signed",
    "tracking:click": "click redirect, signed",
    "tracking:short": "SMS short link, anonymous (the code is unguessable)",
}

# URL name -> the capability the page needs.
MATRIX = {
    "accounts:logout": SELF,
    "accounts:two_factor": SELF,
    "accounts:tokens": SELF,
    "accounts:token_revoke": SELF,
    "accounts:users": "users.manage",
    "accounts:user_create": "users.manage",
    "accounts:user_role": "users.manage",
    "accounts:user_active": "users.manage",
    "accounts:user_two_factor_reset": "users.manage",
    "base:dashboard": "contacts.view",
    "base:audit": "audit.view",
    "base:jobs": "contacts.view",
    "base:export_contacts": "contacts.export",
    "base:job_download": "contacts.export",
    "base:shop": "shop.manage",
    "contacts:contact_list": "contacts.view",
    "contacts:contact_create": "contacts.edit",
    "contacts:contact_detail": "contacts.view",
    "contacts:contact_edit": "contacts.edit",
    "contacts:note_add": "contacts.edit",
    "contacts:merge_pick": "contacts.merge",
    "contacts:merge_preview": "contacts.merge",
    "contacts:contact_export": "contacts.export",
    "contacts:contact_erase": "contacts.erase",
    "contacts:tag_list": "contacts.view",
    "contacts:tag_rename": "schema.manage",
    "contacts:tag_delete": "schema.manage",
    "contacts:field_list": "contacts.view",
    "contacts:field_create": "schema.manage",
    "contacts:field_edit": "schema.manage",
    "contacts:field_delete": "schema.manage",
    "commerce:order_list": "commerce.view",
    "commerce:order_detail": "commerce.view",
    "commerce:product_list": "commerce.view",
    "commerce:source_list": "sources.manage",
    "commerce:money_settings": "shop.settings",
    "commerce:source_detail": "sources.manage",
    "commerce:source_active": "sources.manage",
    "commerce:delivery_detail": "sources.manage",
    "commerce:delivery_retry": "sources.manage",
    "imports:upload": "contacts.edit",
    "imports:mapping": "contacts.edit",
    # and contacts.edit: unknown customers become contacts (every role with commerce.edit
    # has it, so the matrix names the narrower one).
    "imports:orders": "commerce.edit",
    "imports:orders_preview": "commerce.edit",
    "imports:job": "contacts.edit",
    "imports:status": "contacts.edit",
    "imports:rejected": "contacts.edit",
    "mailcatcher:list": "contacts.view",
    "mailcatcher:detail": "contacts.view",
    "mailcatcher:raw": "contacts.view",
    "insights:dashboard": "insights.view",
    "insights:due_list": "insights.view",
    "insights:customer_list": "insights.view",
    "insights:settings": "insights.configure",
    "insights:refresh": "insights.configure",
    "messaging:template_list": "messages.view",
    "messaging:template_new": "messages.author",
    "messaging:template_edit": "messages.author",
    "messaging:template_preview": "messages.view",
    "messaging:template_delete": "messages.author",
    "messaging:broadcast_list": "messages.view",
    "messaging:broadcast_detail": "messages.view",
    "messaging:broadcast_outbox": "messages.view",
    "messaging:broadcast_approve": "messages.approve",
    "messaging:broadcast_reject": "messages.approve",
    "messaging:message_detail": "messages.view",
    "messaging:rule_list": "messages.view",
    "messaging:rule_delete": "messages.author",
    "messaging:settings": "channels.manage",
    "consent:form_list": "consent.view",
    "consent:form_new": "forms.manage",
    "consent:form_detail": "consent.view",
    "consent:form_edit": "forms.manage",
    "consent:form_delete": "forms.manage",
    "consent:topic_list": "consent.view",
    "consent:topic_new": "forms.manage",
    "consent:topic_edit": "forms.manage",
    "consent:topic_delete": "forms.manage",
    "consent:report": "consent.view",
    "consent:churn": "consent.view",
    "consent:suppressions": "consent.view",
    "consent:contact": "consent.view",
    "consent:proof": "consent.export",
    "consent:send_link": "consent.send_link",
    "audiences:list": "segments.view",
    "audiences:new": "segments.edit",
    "audiences:preview": "segments.view",
    "audiences:products": "segments.view",
    "audiences:detail": "segments.view",
    "audiences:edit": "segments.edit",
    "audiences:delete": "segments.edit",
    "audiences:refresh": "segments.edit",
    "audiences:act": "segments.act",
    "campaigns:list": "campaigns.view",
    "campaigns:new": "campaigns.edit",
    "campaigns:calendar": "campaigns.view",
    "campaigns:detail": "campaigns.view",
    "campaigns:edit": "campaigns.edit",
    "campaigns:report_csv": "campaigns.view",
    "campaigns:submit": "campaigns.edit",
    "campaigns:approve": "campaigns.approve",
    "campaigns:reject": "campaigns.approve",
    "campaigns:cancel": "campaigns.edit",
    "campaigns:test": "campaigns.edit",
    "campaigns:schedule": "campaigns.edit",
    "journeys:list": "journeys.view",
    "journeys:new": "journeys.edit",
    "journeys:forgotten": "journeys.view",
    "journeys:detail": "journeys.view",
    "journeys:definition": "journeys.edit",
    "journeys:publish": "journeys.publish",
    "journeys:pause": "journeys.publish",
    "journeys:enrol": "journeys.edit",
    "support:list": "tasks.view",
    "support:new": "tasks.work",
    "support:close": "tasks.work",
    "support:take": "tasks.work",
    "support:cancel": "tasks.manage",
    "journeys:builder": "journeys.edit",
    "journeys:test": "journeys.view",
    "journeys:recipes": "journeys.view",
    "journeys:recipe_use": "journeys.edit",
}


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace) if n)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


# The API's routes are its operations, in tests/faces/test_api_role_matrix.py.
ROUTES = dict(sorted((name, route) for name, route in _walk(get_resolver().url_patterns)
                     if not route.startswith("api/v1/")))


@pytest.fixture(scope="module")
def world(module_db):
    """One of everything a URL names, keyed by the path word before the number (".../tags/7/"
    names a tag)."""
    system = Actor.system("test")
    w = one_of_everything(via="ui")
    contact, topic, form, template, broadcast, order = (w.contact, w.topic, w.form,
                                                         w.template, w.broadcast, w.order)
    tag = w.tag
    other = do_create_contact(system, {"email": "other@example.com"})
    source = do_create_source(system, "woocommerce", "Shop")
    target = User.objects.create_user("target", password="Correct-Horse-42")
    return {
        "contacts": contact.pk, "merge": other.pk,
        "tags": tag.pk,
        "fields": w.field.pk,
        "users": target.pk,
        "orders": order.pk, "sources": source.pk,
        "deliveries": WebhookDelivery.objects.create(source=source, topic="order.updated").pk,
        "imports": Job.objects.create(kind="contacts.import").pk,
        "jobs": Job.objects.create(kind="contacts.export", status=Job.Status.DONE).pk,
        "mailcatcher": CaughtMail.objects.create(raw=b"To: a@example.com\r\n\r\nhi",
                                                 to=["a@example.com"]).pk,
        "templates": template.pk, "broadcasts": broadcast.pk,
        "messages": OutboxMessage.objects.create(source="test:1", contact=contact,
                                                 channel="email", to_address="a@example.com",
                                                 message_class="marketing").pk,
        "rules": do_save_rule(system, {"kind": "cap", "max_count": "3",
                                       "period_hours": "24"}).pk,
        "forms": form.pk, "topics": topic.pk,
        "segments": do_create_segment(system, "Everyone", {"all": []}).pk,
        "map": "no-such-upload",
        "campaigns": campaign_of(template, tag).pk,
        "journeys": do_save_journey(system, {"name": "Welcome"}).pk,
        "recipes": "welcome",
        "tasks": StaffTask.objects.create(contact=contact, title="Call").pk,
    }


@pytest.fixture(scope="module")
def users(module_db):
    """A user per role and one with no role, each with an API token."""
    made = {role: do_create_user(Actor.system("test"), f"{role}-ui", role=role,
                                 password="Correct-Horse-42") for role in ROLES}
    made[NO_ROLE] = User.objects.create_user("norole", password="Correct-Horse-42")
    for user in made.values():
        do_create_token(Actor.system("test"), user, "tests")
    return made


@pytest.fixture
def clients(users):
    """A signed-in client per user (a test may sign one out), knowing its own token's id."""
    made = {}
    for role, user in users.items():
        made[role] = Client()
        made[role].force_login(user)
        made[role].token_id = ApiToken.objects.get(user=user).pk
    return made


def url_for(name: str, world: dict, token_id: int) -> str:
    route = ROUTES[name]
    values = {**world, "tokens": token_id}
    kwargs = {}
    for word, key in re.findall(r"([\w-]+)/<\w+:(\w+)>", route):
        kwargs[key] = values[word]
    return reverse(name, kwargs=kwargs)


def visit(client: Client, url: str):
    """GET the page; a view that only takes POST gets an empty form."""
    response = client.get(url)
    return client.post(url, {}) if response.status_code == 405 else response


def test_every_view_is_in_the_matrix():
    assert sorted(set(ROUTES) - set(MATRIX) - set(NOT_IN_MATRIX)) == [], "add to MATRIX"
    assert sorted((set(MATRIX) | set(NOT_IN_MATRIX)) - set(ROUTES)) == [], "gone from urls"
    assert not set(MATRIX) & set(NOT_IN_MATRIX)
    assert {c for c in MATRIX.values() if c != SELF} <= set(CAPABILITIES)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_is_refused_exactly_without_the_capability(world, clients, name):
    needs = MATRIX[name]
    seen, wanted = {}, {}
    for role, client in clients.items():
        url = url_for(name, world, client.token_id)
        # Each visit starts from the same world: an allowed delete must not hide the next one.
        with transaction.atomic():
            seen[role] = visit(client, url).status_code == 403
            transaction.set_rollback(True)
        wanted[role] = needs != SELF and not can(role, needs)
    assert seen == wanted, f"{name} needs {needs}: True is 403"
    anonymous = visit(Client(), url_for(name, world, clients[NO_ROLE].token_id))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], name


@pytest.mark.parametrize("name", sorted(n for n in MATRIX if "<int:" in ROUTES[n]
                                        and MATRIX[n] != SELF))
def test_a_refused_role_cannot_tell_which_ids_exist(clients, name):
    # The role check comes before the lookup: a missing id is the same 403 as a real one.
    kwargs = {key: 999999 for key in re.findall(r"<int:(\w+)>", ROUTES[name])}
    kwargs.update({key: "x" for key in re.findall(r"<(?:str|slug):(\w+)>", ROUTES[name])})
    assert visit(clients[NO_ROLE], reverse(name, kwargs=kwargs)).status_code == 403, name
