"""Periodic work: drain the tracking spool, follow SMS delivery."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("tracking-drain")
def drain_tracking_spool() -> int:
    from peyvand.tracking.events import drain_spool

    return drain_spool()


@db_periodic_task(crontab(minute="*/5"))
@lock_task("tracking-sms-status")
def poll_sms_delivery() -> int:
    from peyvand.messaging.channels.sms import SmsError
    from peyvand.tracking.actions import poll_sms_statuses

    try:
        return poll_sms_statuses()
    except SmsError as exc:  # the gateway is down: try again next round
        log.warning("SMS status poll failed: %s", exc)
        return 0
