"""What floors above tracking (journeys) do when a person opens or clicks a message."""

from peyvand.base.hooks import Hooks

# "module.function(contact_id, kind, message_id, machine)": kind is "opened" or "clicked";
# run after the drain's transaction commits, for human events only (machine is False), once
# per unique open and for every human click.
EVENT_HOOKS = Hooks()
