"""Catalog versions (目录变更记录): every change of an entry is kept as a full snapshot,
with the changed fields, who and when.

>>> changed({"name": "a", "abstract": "x"}, {"name": "b", "abstract": "x"})
['name']
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource, CatalogRevision
from shudata.catalog.schemas import RevisionRead
from shudata.core.errors import Conflict
from shudata.core.types import Actor

# Fields that change on every write and are not metadata of their own.
VOLATILE = frozenset({"revision", "updated_at", "latest_data_version", "latest_data_at", "overdue",
                      "freshness", "quality_score"})


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of metadata fields whose values differ, sorted."""
    keys = (set(before) | set(after)) - VOLATILE
    return sorted(k for k in keys if before.get(k) != after.get(k))


def add_revision(session: Session, actor: Actor, res: CatalogResource, snapshot: dict[str, Any],
                 fields: list[str], comment: str | None) -> CatalogRevision:
    """Store ``snapshot`` as revision ``res.revision`` of ``res``.

    Raises:
        Conflict: another edit of the same entry, made at the same time from the same
            revision, stored that revision number first (409; the caller's transaction is
            rolled back, so nothing of this edit is kept).
    """
    rev = CatalogRevision(resource_id=res.id, revision=res.revision, snapshot=snapshot, changed_fields=fields,
                          comment=comment, actor=actor.username)
    session.add(rev)
    code, number = res.code, res.revision  # read before a failed flush leaves the session unusable
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"目录条目 {code} 刚被其他人修改（修订 {number} 已存在），本次修改未保存；请刷新后重试",
                       f"Entry {code} was just changed by someone else (revision {number} exists); "
                       "nothing was saved, reload and retry", code="revision_conflict") from exc
    return rev


def revisions(session: Session, resource_id: int) -> list[RevisionRead]:
    """All versions of an entry, newest first."""
    rows = session.scalars(select(CatalogRevision).where(CatalogRevision.resource_id == resource_id)
                           .order_by(CatalogRevision.revision.desc()))
    return [RevisionRead.model_validate(r) for r in rows]
