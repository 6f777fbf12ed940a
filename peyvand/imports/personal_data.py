"""Erasure of import files: an uploaded file naming the person is deleted (it is only kept
until imported, or for two days when nobody imports it), a rejected-rows report is rewritten
without their rows, an upload's note of its file name loses their address. Registered from
ImportsConfig.ready."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from peyvand.base.scrub import Needles, scrub_folder
from peyvand.imports.uploads import META, import_root

REPORT_NAME = "rejected.csv"  # as imports.contacts.report_path_for names it


def erase_copies(needles: Needles, since: dt.datetime | None = None) -> dict[str, Any]:
    """contacts erase-copies hook."""
    root = import_root()
    if not root.is_dir():
        return {}
    notes = 0
    after = since.timestamp() if since else 0
    for meta in root.glob(f"*/{META}"):
        if meta.stat().st_mtime < after:
            continue
        # Kept, not deleted: without it the folder (and its report) would be swept away.
        text = meta.read_text(encoding="utf-8")
        if needles.found_in(text):
            meta.write_text(json.dumps(needles.scrub(json.loads(text))), encoding="utf-8")
            notes += 1
    outcomes = scrub_folder(root, needles, since=since,
                            rewrite=lambda path: path.name == REPORT_NAME)
    done: dict[str, Any] = {"import_notes": notes} if notes else {}
    if outcomes:
        done["import_files"] = [o.as_dict(root) for o in outcomes]
    return done
