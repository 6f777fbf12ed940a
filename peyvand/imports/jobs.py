"""Import jobs run by the worker: one runner for every kind (contacts, orders), the engine
call passed in, and the order import's own job (start and body)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from peyvand.base.actor import Actor
from peyvand.base.jobs import create_job, fail_job, finish_job, job_actor, take_job
from peyvand.base.models import Job
from peyvand.base.queue import enqueue_on_commit
from peyvand.base.roles import require
from peyvand.imports.contacts import ImportFailed, ImportResult, job_progress, report_path_for
from peyvand.imports.order_plan import OrderOptions

logger = logging.getLogger(__name__)

ORDERS_KIND = "orders.import"
# The engine: (actor, the uploaded file, the job) -> the result; ImportFailed to refuse.
Engine = Callable[[Actor, Path, Job], ImportResult]


def run_job(job_id: int, kind: str, engine: Engine) -> dict[str, Any] | None:
    """Body of an import task: run `engine` as the job's creator, in their language, and
    record the result (or why it failed); the uploaded file is deleted either way."""
    from peyvand.imports.uploads import resolve

    job, done = take_job(job_id, kind)
    if job is None:
        return done
    language = "fa"
    try:
        actor = job_actor(job)
        if actor.user is not None and hasattr(actor.user, "profile"):
            language = actor.user.profile.language
        source = resolve(job.params.get("path", ""))
        with translation.override(language):
            result = engine(actor, source, job)
    except (ImportFailed, PermissionDenied) as exc:
        fail_job(job, str(exc))
        return None
    except Exception as exc:
        logger.exception("import job %s failed", job.pk)
        with translation.override(language):
            fail_job(job, _("The import failed: %(error)s") % {"error": exc})
        return None
    finally:
        # The uploaded file is personal data nobody needs once read; the report stays.
        with contextlib.suppress(Exception):
            resolve(job.params.get("path", "")).unlink()
    finish_job(job, {**result.as_dict(), "filename": job.params.get("filename", "")})
    return job.result


# --- orders ---------------------------------------------------------------------------------

def require_order_import(actor: Actor) -> None:
    # Unknown customers become contacts, so an order import edits contacts too (BulkOrders).
    require(actor, "commerce.edit")
    require(actor, "contacts.edit")


def job_options(job: Job) -> OrderOptions:
    params = job.params or {}
    return OrderOptions(currency=params.get("currency", ""),
                        calendar=params.get("calendar", "auto"),
                        placed_at_now=bool(params.get("placed_at_now")))


@transaction.atomic
def do_start_order_import_job(actor: Actor, upload_path: Path, filename: str,
                              options: OrderOptions) -> Job:
    """Queue the import of an uploaded order file; the options are checked first (as the
    preview showed them) so a job never starts on a file it would refuse."""
    from peyvand.imports.orders import preview_orders
    from peyvand.imports.uploads import mark_started, relative

    require_order_import(actor)
    plan = preview_orders(upload_path, options=options, rows=0)
    options = plan.options
    job = create_job(actor, ORDERS_KIND, {
        "path": relative(upload_path), "filename": filename, "currency": options.currency,
        "calendar": options.calendar, "placed_at_now": options.placed_at_now})
    mark_started(upload_path, job)
    from peyvand.imports.tasks import import_orders_task

    enqueue_on_commit(import_orders_task, job.pk)
    return job


def _import_orders(actor: Actor, source: Path, job: Job) -> ImportResult:
    from peyvand.imports.orders import import_orders

    require_order_import(actor)
    return import_orders(actor, source, options=job_options(job),
                         report_path=report_path_for(job), progress=job_progress(job))


def run_order_import_job(job_id: int) -> dict[str, Any] | None:
    return run_job(job_id, ORDERS_KIND, _import_orders)
