"""What floors above messaging do when a broadcast is made the older way (a template to a tag
or an audience, from the broadcast page, `peyvand send` or the API): campaigns registers
"module.function(broadcast)" here and lists it as a campaign (see base.hooks)."""

from peyvand.base.hooks import Hooks

BROADCAST_CREATED_HOOKS = Hooks()
