"""Web pages of the permission floor.

Staff pages (signed in): topics, sign-up forms, incentive report, churn, suppressions, one
contact's consent (staff). Public pages (no sign-in, a signed link or a form is the
authority): the hosted sign-up form, confirmation, preference centre, unsubscribe, RFC 8058
one-click, and the SMS gateway hook (public). All thin: parse, call consent.actions /
queries, render. urls.py and consent.api import from here.
"""

from peyvand.base.http import client_ip
from peyvand.consent.views.common import (
    LANGS,
    contact_email_hint,
    contact_identity_hint,
    site_url,
    user_agent_of,
)
from peyvand.consent.views.public import (
    confirm,
    one_click,
    preferences,
    signup_code,
    signup_context,
    signup_page,
    sms_hook,
    unsubscribe,
)
from peyvand.consent.views.staff import (
    DIMENSION_LABELS,
    STATUS_CLASS,
    churn_page,
    contact_consent,
    contact_proof,
    embed_snippet,
    form_delete,
    form_detail,
    form_edit,
    form_list,
    group_label,
    report,
    send_link,
    suppressions,
    topic_delete,
    topic_edit,
    topic_list,
)

__all__ = [
    "DIMENSION_LABELS", "LANGS", "STATUS_CLASS", "churn_page", "client_ip", "confirm",
    "contact_consent", "contact_email_hint", "contact_identity_hint", "contact_proof",
    "embed_snippet", "form_delete", "form_detail", "form_edit", "form_list", "group_label",
    "one_click", "preferences", "report", "send_link", "signup_code", "signup_context",
    "signup_page", "site_url", "sms_hook", "suppressions", "topic_delete", "topic_edit",
    "topic_list", "unsubscribe", "user_agent_of",
]
