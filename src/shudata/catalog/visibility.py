"""Which catalog entries a caller may see at all: custody entries are not the catalog's to show.

The data exchange holds enterprise sellers' uploads and their desensitized derivatives in one
custody department (托管区, :mod:`shudata.market.custody`). Those entries are registered in the
catalog so the lake, the quality and privacy machinery work on them, but they are the sellers'
data, not government information resources: their names and abstracts are seen by the custody
department's own staff and the exchange operator (who reviews listings), and by the seller
through the market — not by other departments, the public, or the platform admin (raw data and
what describes it are a department matter, architecture convention 16). Every catalog listing
(search and its facets, the entry list, one entry and its history, demand suggestions, the
sharing list, the catalog export, the dashboards' entry lists) leaves them out for everyone
else, and a direct look-up answers 404 as for an entry that does not exist. Auditors read them
in the audit trail, which is not a listing of the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from shudata.catalog.actions import CUSTODY_VIEW
from shudata.catalog.models import CatalogResource
from shudata.core.errors import NotFound
from shudata.core.types import Actor
from shudata.security.authz import allowed
from shudata.security.models import Department

CUSTODY_DEPARTMENT = "数据交易所供方数据托管区"
T = TypeVar("T")


def custody_department_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Department.id).where(Department.name == CUSTODY_DEPARTMENT)))


def hidden_departments(session: Session, actor: Actor) -> set[int]:
    """Provider departments whose entries ``actor`` may not see (empty for custody staff, the operator, the system)."""
    if allowed(actor, CUSTODY_VIEW):  # the system and the exchange operator
        return set()
    return {d for d in custody_department_ids(session) if d != actor.department_id}


def visible(column: InstrumentedAttribute[int], hidden: set[int]) -> list[ColumnElement[bool]]:
    """Conditions on a provider-department column that leave the hidden entries out."""
    return [column.not_in(sorted(hidden))] if hidden else []


def hidden_entry_ids(session: Session, actor: Actor) -> set[int]:
    hidden = hidden_departments(session, actor)
    if not hidden:
        return set()
    return set(session.scalars(select(CatalogResource.id).where(
        CatalogResource.provider_department_id.in_(sorted(hidden)))))


def drop_hidden(session: Session, actor: Actor, ranked: Sequence[tuple[int, T]]) -> list[tuple[int, T]]:
    """``(entry id, …)`` pairs without the entries ``actor`` may not see."""
    out = list(ranked)
    hidden = hidden_entry_ids(session, actor) if out else set()
    return [x for x in out if x[0] not in hidden] if hidden else out


def can_see(session: Session, actor: Actor, res: CatalogResource) -> bool:
    return res.provider_department_id not in hidden_departments(session, actor)


def require_visible(session: Session, actor: Actor, res: CatalogResource, key: str | None = None) -> CatalogResource:
    """``res`` if ``actor`` may see it; else ``NotFound``, exactly as for an entry that does not exist."""
    if can_see(session, actor, res):
        return res
    shown = (key if key is not None else res.code).strip()
    raise NotFound(f"目录中没有资源“{shown}”（可用资源代码、别名或名称）",
                   f"No catalog resource {shown!r} (use its code, alias or name)", code="resource_not_found")


def only_visible(session: Session, actor: Actor, rows: Iterable[CatalogResource]) -> list[CatalogResource]:
    hidden = hidden_departments(session, actor)
    return [r for r in rows if r.provider_department_id not in hidden]
