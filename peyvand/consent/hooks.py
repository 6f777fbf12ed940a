"""What floors above consent do when a person's consent moves (see base.hooks)."""

from peyvand.base.hooks import Hooks

# "module.function(contact_id, channel, topic_key)": a sign-up was confirmed (double opt-in
# confirmed by link or code, or an opt-in that needs no confirmation), once per (channel,
# topic) that became subscribed; topic_key is None for the channel itself. Called by
# ledger.append, the one place every confirmation passes, after its transaction commits.
# Not called for imports (attested elsewhere) or an SMS «۱۲» resuming a channel.
SIGNUP_CONFIRMED_HOOKS = Hooks()
# "module.function(contact_id, channel, length)": a person answered us (an inbound SMS that
# is no stop/resume keyword), after it committed. Only the text's length is passed: the
# words are the person's own, kept in their timeline ("sms.replied") and nowhere else.
INBOUND_REPLY_HOOKS = Hooks()
