"""What floors above commerce do when an order changes (see base.hooks)."""

from peyvand.base.hooks import Hooks

# Floors that keep figures per buyer (insights) register "module.function(contact_id)" here;
# it runs after the order's transaction commits, when anything about it changed.
ORDER_CHANGED_HOOKS = Hooks()
