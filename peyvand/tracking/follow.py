"""What tracking plugs into messaging's sender (registered by path in TrackingConfig.ready):
click and open URLs, the VERP return path, short links in SMS, and a row per SMS to follow
its delivery."""

from __future__ import annotations

from peyvand.messaging.tracker import Tracker
from peyvand.tracking.actions import record_sms
from peyvand.tracking.bounces import bounce_address
from peyvand.tracking.links import open_pixel_url, rewrite_links
from peyvand.tracking.sms_links import rewrite_sms

TRACKER = Tracker(rewrite_links=rewrite_links, open_pixel_url=open_pixel_url,
                  bounce_address=bounce_address, sms_sent=record_sms, rewrite_sms=rewrite_sms)
