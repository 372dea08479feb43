"""Who sees an indicator: its publication profile (see :mod:`shudata.analysis.actions`)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from shudata.analysis.actions import INDICATOR_READ, INDICATOR_READ_INTERNAL, INDICATOR_READ_SHARED
from shudata.analysis.models import AnalysisIndicator
from shudata.core.errors import NotFound
from shudata.core.types import Actor, ResourceRef
from shudata.security.authz import allowed


def ref(ind: AnalysisIndicator) -> ResourceRef:
    return ResourceRef("analysis.indicator", ind.code, department_id=ind.owner_department_id)


def can_see(actor: Actor, ind: AnalysisIndicator) -> bool:
    """``open``: anyone; ``share-conditional``: any logged-in principal; otherwise the owner department."""
    if ind.publication == "open" and allowed(actor, INDICATOR_READ, ref(ind)):
        return True
    if ind.publication in ("open", "share-conditional") and allowed(actor, INDICATOR_READ_SHARED, ref(ind)):
        return True
    return allowed(actor, INDICATOR_READ_INTERNAL, ref(ind))


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition of :func:`can_see` (lists and searches filter in the database)."""
    if allowed(actor, INDICATOR_READ_INTERNAL, ResourceRef("analysis.indicator", None, department_id=None)):
        return true()  # allowed on a department nobody is in: the system and the platform admin
    parts: list[ColumnElement[bool]] = []
    if allowed(actor, INDICATOR_READ):
        parts.append(AnalysisIndicator.publication == "open")
    if allowed(actor, INDICATOR_READ_SHARED):
        parts.append(AnalysisIndicator.publication.in_(("open", "share-conditional")))
    if actor.department_id is not None and allowed(actor, INDICATOR_READ_INTERNAL, ResourceRef(
            "analysis.indicator", None, department_id=actor.department_id)):
        parts.append(AnalysisIndicator.owner_department_id == actor.department_id)
    return or_(*parts) if parts else false()


def require_see(actor: Actor, ind: AnalysisIndicator) -> None:
    """404 (not 403) when ``actor`` may not see ``ind``: an unpublished indicator's code says nothing."""
    if not can_see(actor, ind):
        raise NotFound(f"没有指标 {ind.code}", f"No indicator {ind.code}", code="analysis_indicator_not_found")
