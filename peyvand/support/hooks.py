"""What support tells the floors above (see base.hooks)."""

from peyvand.base.hooks import Hooks

# "module.function(task_id, contact_id, outcome, source)": a staff task was closed with this
# outcome (reached | no_answer | declined | other). Runs after the closing commits; a failing
# hook is logged and undoes nothing. `source` is the task's ("journey:3:s5", "" by hand), so a
# journey can tell its own tasks.
TASK_CLOSED_HOOKS = Hooks()
