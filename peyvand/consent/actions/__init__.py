"""Every write of the permission floor. Consent itself changes only through `ledger.append`.

Four kinds of writers:
- the person, through a sign-up form, a confirmation, the preference centre, an unsubscribe
  link or an SMS keyword (no Actor: the signed link or the form is their authority):
  signup, confirm, preferences, sms;
- staff (Actor with consent.reduce), who may only ever reduce contact, and may have the
  person's preference link mailed to them (consent.send_link), never see it: staff; staff
  also keep the topics and forms: topics, forms;
- an owner importing subscribers from another tool with an attestation (consent.import),
  which only ever fills gaps: imported;
- the system (bounces, complaints) for messaging to call: bounces.
Proof of consent (proof) reads what they all wrote. Callers import from here.
"""

from peyvand.consent.actions.bounces import (
    record_bounce,
    record_complaint,
)
from peyvand.consent.actions.common import (
    CODE_ATTEMPTS,
    CODE_TTL,
    CODES_PER_SIGNUP,
    CONFIRM_MAX_AGE,
    FREQUENCY_ORDER,
    PAUSE_WEEKS,
    STARTED_MAX_AGE,
    UNSUBSCRIBE_REASONS,
    ConsentInvalid,
    ConsentRefused,
    SignupThrottled,
)
from peyvand.consent.actions.confirm import (
    ConfirmResult,
    confirm_signup,
    do_confirm_code,
    do_confirm_email,
    do_resend_code,
    signup_for_token,
)
from peyvand.consent.actions.forms import (
    default_consent_text,
    do_delete_form,
    do_save_form,
)
from peyvand.consent.actions.imported import (
    ATTESTATION_MIN_LENGTH,
    IMPORT_STATUSES,
    ImportedConsent,
    ImportOutcome,
    check_attestation,
    do_attest_import,
    do_import_consent,
)
from peyvand.consent.actions.preferences import (
    PERSON,
    can_reduce_frequency,
    current_states,
    do_pause,
    do_reduce_frequency,
    do_resume,
    do_save_preferences,
    do_unsubscribe,
    subscribed_channels,
)
from peyvand.consent.actions.proof import (
    PROOF_COLUMNS,
    do_export_proof,
    proof_csv,
    proof_of_consent,
)
from peyvand.consent.actions.signup import (
    SignupRequest,
    SignupResult,
    check_rate,
    check_signup,
    check_started,
    code_token,
    confirm_path,
    do_submit_signup,
    offered_channels,
    signup_changes,
    start_token,
)
from peyvand.consent.actions.sms import (
    do_add_sms_gateway,
    do_sms_inbound,
    parse_sms_keyword,
    sms_gateway,
)
from peyvand.consent.actions.staff import (
    LINKS_PER_DAY,
    STAFF_ACTIONS,
    do_send_preference_link,
    do_staff_change,
    mask_address,
)
from peyvand.consent.actions.topics import (
    do_delete_topic,
    do_save_topic,
)

__all__ = [
    "ATTESTATION_MIN_LENGTH", "CODES_PER_SIGNUP", "CODE_ATTEMPTS", "CODE_TTL",
    "CONFIRM_MAX_AGE", "ConfirmResult", "ConsentInvalid", "ConsentRefused", "FREQUENCY_ORDER",
    "IMPORT_STATUSES", "ImportOutcome", "ImportedConsent", "LINKS_PER_DAY", "PAUSE_WEEKS",
    "PERSON", "PROOF_COLUMNS", "STAFF_ACTIONS", "STARTED_MAX_AGE", "SignupRequest",
    "SignupResult", "SignupThrottled", "UNSUBSCRIBE_REASONS", "can_reduce_frequency",
    "check_attestation", "check_rate", "check_signup", "check_started", "code_token",
    "confirm_path", "confirm_signup", "current_states", "default_consent_text",
    "do_add_sms_gateway", "do_attest_import", "do_confirm_code", "do_confirm_email",
    "do_delete_form", "do_delete_topic", "do_export_proof", "do_import_consent", "do_pause",
    "do_reduce_frequency", "do_resend_code", "do_resume", "do_save_form",
    "do_save_preferences", "do_save_topic", "do_send_preference_link", "do_sms_inbound",
    "do_staff_change", "do_submit_signup", "do_unsubscribe", "mask_address",
    "offered_channels", "parse_sms_keyword", "proof_csv", "proof_of_consent", "record_bounce",
    "record_complaint", "signup_changes", "signup_for_token", "sms_gateway", "start_token",
    "subscribed_channels"
]
