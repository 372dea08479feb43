"""Writing a new data version of a catalog entry, as a use case: the actor must hold
``lake.version.create`` on the entry (:data:`shudata.catalog.actions.DATA_UPLOAD`), the lake
stores the version (:func:`shudata.lake.service.store_version`) and the write is audited.

The check and the audit live here, not in the lake: the lake (L3 storage) imports no catalog,
audit or authorisation; catalog may import all three (see the import contracts in
pyproject.toml). Reading versions is :mod:`shudata.catalog.reads` (the entry's metadata
revisions are :mod:`shudata.catalog.versions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import resource_ref
from shudata.catalog.actions import DATA_UPLOAD
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.lake import parquet
from shudata.lake.models import LakeVersion
from shudata.lake.service import store_version
from shudata.security.authz import require


def write_version(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    resource: CatalogResource,
    batches_or_table: pa.Table | Iterable[pa.RecordBatch] | None = None,
    staged: parquet.WriteResult | None = None,
    source_name: str,
    source_format: str,
    schema: pa.Schema | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    sheet: str | None = None,
    skipped_rows: int = 0,
    source_sha256: str | None = None,
    source_bytes: int | None = None,
    quarantined_rows: int = 0,
    comment: str | None = None,
    audit_details: dict[str, Any] | None = None,
) -> LakeVersion:
    """Store data as the next numbered version of ``resource``, atomically, and audit it.

    The data are given as for :func:`shudata.lake.service.store_version` (a table or batches,
    or ``staged`` files, which are discarded when the actor may not upload to the entry).
    """
    try:
        require(actor, DATA_UPLOAD, resource_ref(resource))
    except BaseException:
        if staged is not None:
            parquet.discard(staged.staging)
        raise
    row = store_version(
        session=session, settings=settings, resource_id=resource.id, created_by=actor.username,
        batches_or_table=batches_or_table, staged=staged, source_name=source_name, source_format=source_format,
        schema=schema, encoding=encoding, header_row=header_row, sheet=sheet, skipped_rows=skipped_rows,
        source_sha256=source_sha256, source_bytes=source_bytes, quarantined_rows=quarantined_rows, comment=comment)
    details = {"version": row.version, "rows": row.rows, "bytes": row.bytes, "source_name": source_name,
               "source_format": source_format, "encoding": encoding, **(audit_details or {})}
    record(session, actor, events.LakeVersionCreate(resource_id=resource.code, details=details))
    return row
