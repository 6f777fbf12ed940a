"""The demo's campaign (peyvand.demo loads it after the segments): a win-back campaign on the
win-back segment, waiting for approval."""

from __future__ import annotations

from peyvand.audiences.models import Segment
from peyvand.base.actor import Actor
from peyvand.campaigns.actions import do_save_campaign, do_submit
from peyvand.campaigns.models import Campaign
from peyvand.messaging.actions import do_save_template
from peyvand.messaging.models import MessageTemplate

DEMO_TEMPLATE = {
    "name": "دلمان برایتان تنگ شده · We miss you", "language": "fa", "channel": "email",
    "message_class": "marketing", "subject": "{{ first_name }} عزیز، دلمان برایتان تنگ شده",
    "html": "<h1>سلام {{ first_name }}!</h1><p>مدتی است از ما خرید نکرده‌اید. چای تازهٔ "
            "لاهیجان رسیده است.</p><p><a href=\"https://shop.example/tea\">دیدن چای‌ها</a>"
            "</p>", "text": ""}


def load_demo_campaign(actor: Actor, *, segment_name: str) -> None:
    """A win-back campaign planned on the win-back segment, waiting for approval: the owner
    sees the count, the gate's refusals and the words before anything goes."""
    segment = Segment.objects.filter(name=segment_name).first()
    if segment is None or Campaign.objects.filter(created_by="demo").exists():
        return
    if not MessageTemplate.objects.filter(name=DEMO_TEMPLATE["name"]).exists():
        do_save_template(actor, DEMO_TEMPLATE)
    campaign = do_save_campaign(actor, {
        "name": "بازگرداندن مشتریان پاییز · Autumn win-back",
        "audience": {"segments": [segment.pk]}, "template": DEMO_TEMPLATE["name"],
        "goal": "orders", "attribution_days": 7})
    do_submit(actor, campaign)
