"""What floors above commerce do when an order changes (see base.hooks)."""

from peyvand.base.hooks import Hooks

# Floors that keep figures per buyer (insights) register "module.function(contact_id)" here;
# it runs after the order's transaction commits, when anything about it changed.
ORDER_CHANGED_HOOKS = Hooks()
# "module.function(contact_id, cart_id)": a cart was marked abandoned (mark_abandoned_carts),
# after that commits; once per cart and abandonment.
CART_ABANDONED_HOOKS = Hooks()
# "module.function(contact_ids)": a bulk write (an order import) finished; these buyers'
# orders were created or changed. Once per import, after its last batch commits, instead of
# ORDER_CHANGED_HOOKS per order: history arriving is not a purchase happening now.
ORDERS_IMPORTED_HOOKS = Hooks()
