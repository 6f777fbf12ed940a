"""What floors above audiences (journeys) do when people enter or leave a segment."""

from peyvand.base.hooks import Hooks

# "module.function(segment_id, entered_ids, left_ids, at)": run after a refresh that changed
# a segment's membership has committed, in chunks of at most CHANGE_CHUNK contacts.
SEGMENT_CHANGED_HOOKS = Hooks()
