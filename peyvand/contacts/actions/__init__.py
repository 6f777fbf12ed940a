"""Every write on contacts: create, upsert, update, identities, tags, notes, merge, erase,
and many contacts at once for imports (bulk).

UI views, API handlers, the CLI, the demo loader and imports all call these, so
normalisation, role checks, timeline and audit rows happen the same way on every way in.
The modules split them by what they do; callers import from here.
"""

from peyvand.contacts.actions.apply import (
    check_new_tags,
    find_owners,
    refresh_search_text,
    search_text_for,
    tag_objects,
)
from peyvand.contacts.actions.bulk import BulkItem, BulkOutcome, BulkUpsert, BulkWrite
from peyvand.contacts.actions.data import (
    SCALARS,
    ContactData,
    ContactInvalid,
    IdentityConflict,
    check_contact_data,
)
from peyvand.contacts.actions.erase import (
    contact_export,
    contact_snapshot,
    do_erase_contact,
    do_export_contact,
)
from peyvand.contacts.actions.merge import MERGE_RULE, do_merge_contacts, merge_preview
from peyvand.contacts.actions.upsert import (
    UpsertResult,
    do_add_note,
    do_create_contact,
    do_tag_contacts,
    do_update_contact,
    do_upsert_contact,
)

__all__ = [
    "MERGE_RULE", "SCALARS", "BulkItem", "BulkOutcome", "BulkUpsert", "BulkWrite",
    "ContactData", "ContactInvalid", "IdentityConflict",
    "UpsertResult", "check_contact_data", "check_new_tags", "contact_export",
    "contact_snapshot", "do_add_note", "do_create_contact", "do_erase_contact",
    "do_export_contact", "do_merge_contacts", "do_tag_contacts", "do_update_contact",
    "do_upsert_contact", "find_owners", "merge_preview", "refresh_search_text",
    "search_text_for", "tag_objects",
]
