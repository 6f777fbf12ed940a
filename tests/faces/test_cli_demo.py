import pytest
from django.contrib.auth import get_user_model

from peyvand.contacts.models import Contact, CustomField, Identity, Note, Tag, TimelineEvent
from peyvand.demo import TAGS, demo_people, ensure_demo_owner

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def first_load(module_db):
    """The demo loaded once for the module on each worker that runs its tests (about 8 s;
    xdist's loadgroup, which would keep them on one worker, does not group under pytest 9):
    (exit code, stdout, stderr) of that first run. Each test then runs in its own savepoint,
    so what one adds (a second load, a contact) is gone for the next; the module's rows are
    rolled back at its end."""
    import contextlib
    import io

    from peyvand.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["demo"])
    return code, out.getvalue(), err.getvalue()


def test_demo_people_are_deterministic():
    assert demo_people(40) == demo_people(40)


@pytest.mark.slow
def test_demo_loads_once_and_repeats_without_duplicates(first_load, cli):
    code, out, err = first_load
    assert code == 0, err
    assert "300 contacts created" in out
    contacts = Contact.objects.live()
    assert contacts.count() == 300
    assert contacts.filter(language="fa").count() == 150
    # Input typed with Arabic ي/ك and Persian digits was normalised on the way in.
    assert not contacts.filter(first_name__regex="[يك]").exists()
    assert not contacts.filter(last_name__regex="[يك]").exists()
    assert not Identity.objects.filter(value__regex="[۰-۹]").exists()
    assert Identity.objects.filter(kind="phone", value__startswith="+989").count() >= 150
    assert Identity.objects.filter(kind="external", source="woocommerce:demo").exists()
    two = [c for c in contacts.prefetch_related("identities") if len(c.identities.all()) > 1]
    assert len(two) > 30
    assert set(Tag.objects.values_list("name", flat=True)) == set(TAGS)
    assert set(CustomField.objects.values_list("key", "type")) == {
        ("city", "choice"), ("postal_code", "text"), ("shoe_size", "number"),
        ("last_visit", "date"), ("wholesale", "boolean")}
    for field in CustomField.objects.all():
        assert field.values.exists(), field.key
    notes = Note.objects.count()
    assert notes > 5
    events = TimelineEvent.objects.count()

    from peyvand.consent.models import SignupForm

    form = SignupForm.objects.get(slug="newsletter")  # a sign-up page to try double opt-in on
    assert form.title("fa") == "خبرنامهٔ فروشگاه" and form.current_text("en") is not None

    from peyvand.campaigns.models import Campaign

    # A win-back campaign waits for approval on the win-back segment (issue 17).
    campaign = Campaign.objects.get()
    assert campaign.status == "awaiting_approval" and campaign.audience_spec["segments"]

    code, out, _err = cli("demo")
    assert code == 0 and "0 contacts created, 300 already there, 0 notes added" in out
    assert Campaign.objects.count() == 1
    assert "0 sign-ups recorded" in out
    assert SignupForm.objects.count() == 1
    assert Contact.objects.count() == 300
    assert Note.objects.count() == notes
    assert TimelineEvent.objects.count() == events  # nothing changed, nothing logged


def test_demo_owner_is_created_once():
    password = ensure_demo_owner()
    owner = get_user_model().objects.get(username="owner")
    assert owner.profile.role == "owner" and owner.check_password(password)
    assert len(password) >= 12
    assert ensure_demo_owner() is None


@pytest.mark.slow
def test_demo_shop_has_orders_with_a_pyramid_and_planted_pairs(first_load, cli):
    from peyvand.commerce.models import Order, OrderLine, Product
    from peyvand.demo import PRODUCTS

    assert first_load[0] == 0
    orders = Order.objects.count()
    assert orders > 200 and Product.objects.count() == len(PRODUCTS)
    buyers = Order.objects.values("contact_id").order_by().distinct().count()
    assert buyers < orders  # some people bought more than once
    # The planted pair (tea with tea glasses) is bought together in many orders.
    tea = set(OrderLine.objects.filter(sku="TEA-1").values_list("order_id", flat=True))
    cups = set(OrderLine.objects.filter(sku="CUP-1").values_list("order_id", flat=True))
    assert len(tea & cups) >= len(tea) // 3
    assert cli("demo")[0] == 0
    assert Order.objects.count() == orders


@pytest.mark.slow
def test_demo_fills_the_insights(first_load, cli):
    from peyvand.insights.models import CustomerMetrics

    assert first_load[0] == 0
    assert CustomerMetrics.objects.filter(order_count__gt=1).exists()

    # Segments to start from, counted on the insights the demo just computed; a second load
    # makes none again.
    from peyvand.audiences.models import Segment
    from peyvand.audiences.queries import members_now

    segments = list(Segment.objects.order_by("pk"))
    assert len(segments) == 3
    for segment in segments:
        assert segment.refreshed_at is not None
        assert segment.member_count == members_now(segment).count()
    assert segments[0].member_count > 0 and segments[2].member_count > 0  # win-back, best
    assert cli("demo")[0] == 0 and Segment.objects.count() == 3


@pytest.mark.slow
def test_demo_people_signed_up_and_a_broadcast_reaches_the_subscribed(first_load, owner_actor):
    """The demo's sign-ups are what the form and the confirmation link record; the gate lets
    the confirmed through and refuses the rest."""
    from peyvand.consent.ledger import replay_contact
    from peyvand.consent.models import ConsentChange, ConsentState, Signup
    from peyvand.demo import load_demo_consent
    from peyvand.messaging import gate

    code, out, err = first_load
    assert code == 0, err
    signups = Signup.objects.count()
    assert 150 < signups < 260 and f"{signups} sign-ups recorded" in out
    assert set(ConsentChange.objects.values_list("source", flat=True)) == {"form"}
    confirmed = ConsentState.objects.filter(channel="email", topic=None, status="in")
    pending = ConsentState.objects.filter(status="pending", topic=None)
    assert confirmed.count() > 100 and pending.exists()
    assert ConsentState.objects.filter(channel="sms", topic=None, status="in").exists()
    # Dated over the past two years, each confirmation after its own opt-in.
    first, last = (ConsentChange.objects.order_by(f).values_list("at", flat=True).first()
                   for f in ("at", "-at"))
    assert (last - first).days > 300
    signup = Signup.objects.exclude(confirmed_at=None).first()
    assert signup.confirmed_at > signup.created_at
    # The derived state is the ledger replayed, as for every real sign-up.
    for state in confirmed[:20]:
        assert replay_contact(state.contact_id)[("email", None)].status == "in"
    assert load_demo_consent() == 0  # again: nothing new
    assert Signup.objects.count() == signups

    def verdict(contact_id):
        return gate.check_outbound(contact_id, "email", topic=None, message_class="marketing",
                                   rules=[]).reason

    never = Contact.objects.live().exclude(pk__in=ConsentState.objects.values("contact_id"))
    assert verdict(confirmed.first().contact_id) == "ok"
    assert verdict(pending.filter(channel="email").first().contact_id) != "ok"
    assert never.exists() and verdict(never.first().pk) == "no_consent"


@pytest.mark.slow
def test_demo_consent_refuses_contacts_the_demo_did_not_make(first_load, owner_actor):
    import datetime as dt

    from django.utils import timezone

    from peyvand.consent.demo import seed_signup
    from peyvand.consent.models import SignupForm
    from peyvand.contacts.actions import do_create_contact
    from peyvand.demo import DEMO_SOURCES

    assert first_load[0] == 0
    real = do_create_contact(owner_actor, {"email": "real@example.com"})
    with pytest.raises(ValueError):
        seed_signup(SignupForm.objects.get(slug="newsletter"), real, demo_sources=DEMO_SOURCES,
                    channels=["email"], topics=[], language="fa",
                    at=timezone.now() - dt.timedelta(days=1), confirmed_after=None)
