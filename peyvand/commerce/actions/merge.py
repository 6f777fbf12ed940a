"""Hooks the contacts floor calls (a merge moves commerce rows to the survivor)."""

from __future__ import annotations

from django.utils import timezone

from peyvand.commerce.models import Cart, Order, RecentSales, WebhookDelivery

# --- hooks the contacts floor calls -----------------------------------------------------------

def move_commerce_rows(survivor_id: int, merged_id: int) -> None:
    """contacts merge hook: the merged contact's orders and carts now belong to the survivor."""
    # updated_at too: the survivor's kept recent sales (RecentSales) no longer hold.
    Order.objects.filter(contact_id=merged_id).update(contact_id=survivor_id,
                                                      updated_at=timezone.now())
    RecentSales.objects.filter(contact_id=merged_id).delete()
    Cart.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    WebhookDelivery.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
