"""Where uploaded import files and their reports live: one private folder per upload under
$PEYVAND_HOME/imports (settings.IMPORT_DIR when set), named by an unguessable token."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404

from peyvand.base.models import Job
from peyvand.imports.limits import max_upload_bytes, too_large_upload

META = "meta.json"
# Uploads nobody went on to import are removed after this long.
STAGE_TTL = 2 * 24 * 3600
_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx")


def import_root() -> Path:
    return Path(settings.IMPORT_DIR or Path(settings.HOME) / "imports")


@dataclass
class Staged:
    token: str
    path: Path
    filename: str
    user_id: int | None


def _write_meta(folder: Path, meta: dict[str, Any]) -> None:
    (folder / META).write_text(json.dumps(meta), encoding="utf-8")


def _read_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _sweep(root: Path) -> None:
    cutoff = time.time() - STAGE_TTL
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        meta = _read_meta(folder)
        if not meta.get("job") and meta.get("created", 0) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def stage_upload(chunks: Iterable[bytes], filename: str, user_id: int | None) -> Staged:
    """Store an uploaded file, chunk by chunk, in a new private folder; FileRefused (and
    nothing kept) past the upload limit."""
    root = import_root()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        _sweep(root)
    token = secrets.token_urlsafe(18)
    folder = root / token
    folder.mkdir(mode=0o700)
    suffix = Path(filename).suffix.lower()
    path = folder / ("upload" + (suffix if suffix in _SUFFIXES else ""))
    name = Path(filename).name[:200] or path.name
    # Meta first: a sweep running meanwhile must see the folder is fresh.
    _write_meta(folder, {"user": user_id, "filename": name, "created": time.time(),
                         "file": path.name})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    limit, written = max_upload_bytes(), 0
    with open(fd, "wb") as fh:
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                break
            fh.write(chunk)
    if written > limit:
        shutil.rmtree(folder, ignore_errors=True)
        raise too_large_upload()
    return Staged(token, path, name, user_id)


def staged_upload(token: str, user_id: int | None) -> Staged:
    """The upload behind `token`, if this user made it and it was not imported yet; else 404."""
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        raise Http404
    folder = import_root() / token
    meta = _read_meta(folder)
    if not meta or meta.get("user") != user_id or meta.get("job"):
        raise Http404
    path = folder / meta.get("file", "")
    if not path.is_file():
        raise Http404
    return Staged(token, path, meta.get("filename", path.name), user_id)


def mark_started(staged_path: Path, job: Job) -> None:
    folder = staged_path.parent
    _write_meta(folder, {**_read_meta(folder), "job": job.pk})


def relative(path: Path) -> str:
    return str(Path(path).resolve().relative_to(import_root().resolve()))


def resolve(rel: str) -> Path:
    """A path stored on a job, refused unless it lies inside the import folder."""
    root = import_root().resolve()
    path = (root / rel).resolve()
    if not rel or not path.is_relative_to(root) or path == root:
        raise FileNotFoundError(rel)
    return path


def job_dir(job: Job) -> Path | None:
    try:
        return resolve(job.params.get("path", "")).parent
    except FileNotFoundError:
        return None
