"""Ingest a file into a catalog entry as a new lake version.

The pipeline is a tuple of small steps over one :class:`IngestRun`::

    inspect → check_columns → stage → [quality hooks] → publish

Each step reads and fills the run; inserting a step (the quality package's quarantine,
run over the staged Parquet parts before they are published) is a one-line change to
``STEPS``. Any error discards the staged files: nothing is published, nothing is left.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from shudata.catalog.access import find_resource, resource_ref
from shudata.catalog.actions import DATA_UPLOAD
from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.config import Settings
from shudata.core.errors import ShudataError
from shudata.core.plugins import plugins_of
from shudata.core.types import Actor
from shudata.jobs import spark_ingest
from shudata.lake import parquet
from shudata.lake.ingest import readers
from shudata.lake.ingest.limits import ReadLimits
from shudata.lake.ingest.plan import plan_columns, propose_items
from shudata.lake.ingest.source import IngestOptions, Progress, SourceInfo, StageStats, no_data
from shudata.lake.ingest.types import ColumnSpec
from shudata.lake.models import LakeVersion
from shudata.lake.service import cleanup
from shudata.quality import cleaning_missing
from shudata.quality import ingest_step as quality_ingest
from shudata.security.authz import require

log = logging.getLogger("shudata.jobs.ingest")


@dataclass
class IngestRun:
    """The state of one ingestion, passed from step to step."""

    session: Session
    settings: Settings
    actor: Actor
    resource: CatalogResource
    path: Path
    source_name: str
    options: IngestOptions
    progress: Progress | None = None
    sha256: str | None = None
    info: SourceInfo | None = None
    specs: list[ColumnSpec] = field(default_factory=list)
    staging: Path | None = None
    stats: StageStats | None = None
    quarantined_rows: int = 0
    extra_audit: dict[str, Any] = field(default_factory=dict)
    version: LakeVersion | None = None


Step = Callable[[IngestRun], None]


def inspect(run: IngestRun) -> None:
    if run.options.missing_values is None:  # the entry's saved placeholders, else the setting's
        run.options = run.options.model_copy(
            update={"missing_values": cleaning_missing.resolve(run.session, run.settings, run.resource.id)})
    run.info = readers.inspect(run.path, run.source_name, run.options, ReadLimits.from_settings(run.settings))


def check_columns(run: IngestRun) -> None:
    if run.info is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("run.info is unexpectedly None")
    run.specs = plan_columns(run.info, run.resource.information_items or [])


def stage(run: IngestRun) -> None:
    if run.info is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("run.info is unexpectedly None")
    run.staging = parquet.new_staging(run.settings.lake_dir)
    # a very large CSV or Parquet file of an entry routed to Spark is staged by the executors (same rows)
    run.stats = spark_ingest.stage(run.settings, run.resource.code, run.info, run.specs, run.staging,
                                   run.options, run.progress) or \
        readers.stage(run.info, run.specs, run.staging, run.options, run.progress,
                      ReadLimits.from_settings(run.settings))
    if run.stats.rows == 0:
        raise no_data(run.source_name)


def publish(run: IngestRun) -> None:
    if run.info is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("run.info is unexpectedly None")
    if run.staging is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("run.staging is unexpectedly None")
    if run.stats is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("run.stats is unexpectedly None")
    staged = parquet.finish_staged(run.staging)
    run.version = write_version(
        session=run.session, settings=run.settings, actor=run.actor, resource=run.resource, staged=staged,
        source_name=run.source_name, source_format=run.info.format, encoding=run.info.encoding,
        header_row=run.info.header_row, sheet=run.info.sheet, skipped_rows=run.stats.skipped_rows,
        source_sha256=run.sha256, source_bytes=run.info.size, quarantined_rows=run.quarantined_rows,
        comment=run.options.comment,
        audit_details={"footer_rows": run.stats.footer_rows, "skipped_rows": run.stats.skipped_rows,
                       "sha256": run.sha256, "missing_values": run.stats.missing, **run.extra_audit})
    run.staging = None  # moved into place
    if run.stats.missing:  # placeholders read as NULL, per column, shown with the version
        run.version.columns = [{**c, "missing_values": run.stats.missing.get(c["name"], 0)}
                               for c in run.version.columns]
        run.session.flush()


STEPS: tuple[Step, ...] = (inspect, check_columns, stage, quality_ingest.screen, publish, quality_ingest.record)


def after_ingest(run: IngestRun) -> None:
    """The ``after_ingest`` hook of the session's plugin manager, after the built-in steps.

    Higher layers and siblings hook in here instead of this module importing them: the portal
    (:mod:`shudata.portal.hooks`) re-gates a published dataset's new version, sharing
    (:mod:`shudata.sharing.hooks`) prepares the masked files of the entry's grants.
    """
    plugins_of(run.session).hook.after_ingest(run=run)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def upload_target(*, session: Session, actor: Actor, resource_code: str) -> CatalogResource:
    """The entry an upload goes to, once the actor may upload to it (checked before receiving the file)."""
    try:
        resource = find_resource(session, resource_code)
    except ShudataError as exc:
        _tag_code(exc, resource_code)
        raise
    try:
        require(actor, DATA_UPLOAD, resource_ref(resource))
    except ShudataError as exc:
        _tag(exc, resource)
        raise
    return resource


def ingest_file(*, session: Session, settings: Settings, actor: Actor, resource_code: str, path: Path,
                options: IngestOptions | None = None, source_name: str | None = None,
                sha256: str | None = None, progress: Progress | None = None,
                steps: tuple[Step, ...] | None = None) -> LakeVersion:
    """Check ``path`` against the entry ``resource_code`` and store it as its next version.

    Args:
        source_name: the uploaded file's name (shown and audited; ``path`` is a temp file).
        sha256: the file's SHA-256 when the caller already computed it (uploads do).
        progress: called with (done, total) while data is written.

    Raises:
        NotFound: no such entry. PermissionDenied: the actor may not upload to it.
        InvalidInput / UnsupportedMedia: the file is refused; nothing is stored.
    """
    resource = upload_target(session=session, actor=actor, resource_code=resource_code)
    code = resource.code  # read now: a failed flush expires the row, and the session can no longer load it
    _tidy(session, settings)
    run = IngestRun(session=session, settings=settings, actor=actor, resource=resource, path=Path(path),
                    source_name=source_name or Path(path).name, options=options or IngestOptions(),
                    progress=progress, sha256=sha256)
    try:
        for step in steps or (*STEPS, after_ingest):
            step(run)
    except ShudataError as exc:
        _tag_code(exc, code)
        raise
    finally:
        if run.staging is not None:
            parquet.discard(run.staging)
        if run.info is not None:
            readers.forget(run.info)
    if run.version is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("run.version is unexpectedly None")
    return run.version


# The sweep reads every version row and lists every version folder of the lake, so it runs
# at most once per interval and process, not on every ingest (it was a fifth of an upload's
# CPU, growing with the lake); ``serve`` and ``init`` sweep at start-up anyway.
TIDY_INTERVAL_S = 600.0
_last_tidy: dict[str, float] = {}
_tidy_lock = threading.Lock()
_clock = time.monotonic


def _tidy(session: Session, settings: Settings) -> None:
    """Remove what crashed writers left behind (dead writers' staging, hour-old unpublished
    directories), at most every ``TIDY_INTERVAL_S`` seconds per lake; a failure here never
    stops an ingest."""
    key, now = str(settings.lake_dir), _clock()
    with _tidy_lock:
        if now - _last_tidy.get(key, -TIDY_INTERVAL_S) < TIDY_INTERVAL_S:
            return
        _last_tidy[key] = now
    try:
        cleanup(session=session, settings=settings, grace_s=3600)
    except OSError:
        log.warning("lake cleanup failed", exc_info=True)


def _tag(exc: ShudataError, resource: CatalogResource) -> None:
    """Name the action and the entry in the error, so the audit record of the refusal does."""
    _tag_code(exc, resource.code)


def _tag_code(exc: ShudataError, code: str) -> None:
    if exc.details is None:
        exc.details = {}
    if isinstance(exc.details, dict):
        exc.details.setdefault("action", DATA_UPLOAD.name)
        exc.details.setdefault("resource_type", "catalog.resource")
        exc.details.setdefault("resource_id", code[:200])


def preview_file(path: Path, options: IngestOptions | None = None, *, source_name: str | None = None,
                 items: list[Any] | None = None, rows: int = 20, limits: ReadLimits | None = None) -> dict[str, Any]:
    """What the platform understands of a file, without storing anything: format, encoding,
    sheets, header-row and footer guesses, first rows, proposed information items, and (when
    the entry's ``items`` are given) whether the columns match them. ``limits`` bound the
    file's shape (default: the settings' defaults)."""
    options = options or IngestOptions()
    info = readers.inspect(Path(path), source_name or Path(path).name, options, limits)
    try:
        check: dict[str, Any] | None = None
        if items:
            try:
                plan_columns(info, items)
                check = {"ok": True, "missing": [], "extra": [], "mistyped": []}
            except ShudataError as exc:
                d = exc.details if isinstance(exc.details, dict) else {}
                check = {"ok": False, "message": exc.zh, "message_en": exc.en, "missing": d.get("missing", []),
                         "extra": d.get("extra", []), "mistyped": d.get("mistyped", [])}
        return {
            "source_name": info.name, "format": info.format, "encoding": info.encoding, "sheet": info.sheet,
            "sheets": info.sheets, "header_row": info.header_row, "footer_rows": info.footer_rows,
            "columns": info.columns, "head_rows": info.head_rows[:rows], "rows": info.sample[:rows],
            "proposed_items": propose_items(info), "check": check,
            "missing_values": None if options.missing_values is None else list(options.missing_values),
        }
    finally:
        readers.forget(info)
