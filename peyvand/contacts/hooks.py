"""What other floors do when a contact is merged, erased or exported (see base.hooks)."""

from peyvand.base.hooks import Hooks

# Floors that keep rows per contact register "module.function(survivor_id, merged_id)" here
# so a merge moves their rows too.
MERGE_HOOKS = Hooks()
# "module.function(contact_id)": what a floor must keep of the person's addresses beyond the
# erasure, taken while they still exist (consent keeps a digest of an address that left a
# channel, so no import subscribes it again). Same return as ERASE_HOOKS.
BEFORE_ERASE_HOOKS = Hooks()
# Floors holding personal data per contact register "module.function(contact_id)" here; it
# removes that data from their rows and may return counts of what it did ({what: n}), which
# the erasure's audit entry keeps (counts only, never values).
ERASE_HOOKS = Hooks()
# Floors that keep copies by address rather than by contact (caught mail, files, unlinked
# reports) register "module.function(needles, since=None)" here (base.scrub.Needles: the
# person's addresses); same return as ERASE_HOOKS. Runs after every ERASE_HOOKS function, and
# again once the erasure has committed with `since` (its start): then only copies made since
# need looking at.
ERASE_COPIES_HOOKS = Hooks()
# "module.function(contact_id) -> iterable of str": addresses a floor still holds for the
# person besides their identities (an outbox row's old recipient ...), so that their copies
# are found too. Runs before anything is erased.
ADDRESS_HOOKS = Hooks()
# "module.function(contact_id) -> {section: data}": a floor's part of the person's
# subject-access export (JSON-ready, or dates and Decimals, which the export turns into text).
EXPORT_HOOKS = Hooks()
# "module.function(contact_ids, tag_id)": a tag was put on these contacts (by hand, the API,
# an upsert, a journey step, or an import: once per tag for the new people of each batch,
# per person for those it updates). Runs after the tagging commits
# (actions.apply.tags_added); a failing hook is logged and undoes nothing.
TAG_ADDED_HOOKS = Hooks()
