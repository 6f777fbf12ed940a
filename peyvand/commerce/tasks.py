"""Huey tasks of the commerce floor; thin wrappers, the work lives in woocommerce/actions."""

from __future__ import annotations

import datetime as dt

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from peyvand.commerce import actions, woocommerce

# After an unexpected error (database busy, a bug fixed by a deploy): 1 min, then 5, then 25.
RETRIES = 3
RETRY_DELAY = 60
CART_IDLE = dt.timedelta(hours=1)


@db_task(retries=RETRIES, retry_delay=RETRY_DELAY, context=True)
def process_delivery_task(delivery_id: int, task=None):
    if task is not None and task.retries < RETRIES:
        # Huey's retry delay is fixed; lengthen it for each later attempt.
        task.retry_delay = RETRY_DELAY * 5 ** (RETRIES - task.retries)
    woocommerce.process_delivery(delivery_id)


@db_periodic_task(crontab(minute="*/15"))
def mark_abandoned_carts_task():
    return actions.mark_abandoned_carts(CART_IDLE)


@db_periodic_task(crontab(hour="6", minute="10"))
def refresh_late_deliveries_task():
    return actions.refresh_late_deliveries()


@db_periodic_task(crontab(hour="2", minute="40"))
def refresh_recent_sales_task():
    """Segments read the kept sums; between builds they correct for what changed."""
    return actions.refresh_recent_sales().customers
