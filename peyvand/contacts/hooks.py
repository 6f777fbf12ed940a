"""What other floors do when a contact is merged or erased (see base.hooks)."""

from peyvand.base.hooks import Hooks

# Floors that keep rows per contact register "module.function(survivor_id, merged_id)" here
# so a merge moves their rows too.
MERGE_HOOKS = Hooks()
# Floors holding personal data per contact register "module.function(contact_id)" here.
ERASE_HOOKS = Hooks()
