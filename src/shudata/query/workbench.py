"""The SQL workbench's use cases: what the caller may query (for completion and the schema
browser), runs that can be cancelled and go into the caller's history, and refusals that
point at the offending part of the SQL.

Runs go through :func:`shudata.query.service.run_query` — the same sandbox, access hook
(masking), grants (another department's data is read as its grant delivers it, masked) and
audit as ``POST /api/v1/query`` — so the workbench shows nothing the API would not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import can_read_data, find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import DATA_TYPE_LABELS, DataType
from shudata.core.config import Settings
from shudata.core.errors import NotFound, ShudataError
from shudata.core.plugins import PluginManager, plugins_of
from shudata.core.types import Actor, ResourceRef
from shudata.lake.models import LakeVersion
from shudata.query import saved, service
from shudata.query.actions import QUERY_RUN, QUERY_RUN_CANCEL
from shudata.query.engines.base import Engine
from shudata.query.marks import locate
from shudata.query.models import QueryHistory
from shudata.query.policies import GrantedSchema, access_for, granted_tables
from shudata.query.runs import RUNS, RunRegistry
from shudata.query.workbench_schemas import (
    CancelResult,
    SchemaColumn,
    SchemaTable,
    WorkbenchResult,
    WorkbenchRun,
    WorkbenchSchema,
)
from shudata.security.authz import require

PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STATUS_OF_CODE = {"query_timeout": "timeout", "query_cancelled": "cancelled"}
HISTORY_KEPT = 500  # runs kept per user; older ones are dropped as new ones come


def sql_name(res: CatalogResource) -> str:
    """How SQL names ``res`` most simply: its alias when it is a plain identifier, else its quoted code.

    >>> sql_name(CatalogResource(code="101001/000001", alias="people"))
    'people'
    >>> sql_name(CatalogResource(code="101001/000001", alias=None))
    '"101001/000001"'
    """
    return res.alias if res.alias and PLAIN_NAME.match(res.alias) else f'"{res.code}"'


def _data_type(code: Any, en: bool = False) -> str | None:
    """The catalog's data type code as a word (``C`` → 字符型 / character).

    >>> _data_type("N"), _data_type("N", en=True), _data_type(None)
    ('数值型', 'numeric', None)
    """
    try:
        return DATA_TYPE_LABELS[DataType(code)][1 if en else 0]
    except (ValueError, KeyError):
        return str(code) if code else None


def _latest_versions(session: Session, ids: list[int]) -> dict[int, LakeVersion]:
    if not ids:
        return {}
    newest = (select(LakeVersion.resource_id, func.max(LakeVersion.version).label("v"))
              .where(LakeVersion.resource_id.in_(ids)).group_by(LakeVersion.resource_id).subquery())
    rows = session.scalars(select(LakeVersion).join(
        newest, (LakeVersion.resource_id == newest.c.resource_id) & (LakeVersion.version == newest.c.v)))
    return {v.resource_id: v for v in rows}


def _table(session: Session, settings: Settings, actor: Actor, plugins: PluginManager, res: CatalogResource,
           v: LakeVersion) -> SchemaTable | None:
    access = access_for(plugins, session, settings, actor, res)
    stored = [str(c.get("name")) for c in v.columns or []]
    types = {str(c.get("name")): str(c.get("type", "")) for c in v.columns or []}
    try:
        visible = access.visible(stored)
    except ShudataError:  # an access rule naming columns the version lacks: the query would be refused too
        return None
    items = {str(i.get("name")): i for i in res.information_items or [] if isinstance(i, dict)}
    columns = [SchemaColumn(name=c, type=types.get(c, ""), data_type=_data_type(items.get(c, {}).get("data_type")),
                            data_type_en=_data_type(items.get(c, {}).get("data_type"), en=True),
                            description=items.get(c, {}).get("description") or None,
                            masked=c in access.column_exprs) for c in visible]
    return SchemaTable(code=res.code, alias=res.alias, name=res.name,
                       department=res.provider.name if res.provider else None, version=v.version, rows=v.rows,
                       sql_name=sql_name(res), columns=columns)


def _granted(item: GrantedSchema) -> SchemaTable:
    """A resource read through a grant: only the granted columns, the masked ones marked."""
    res = item.resource
    items = {str(i.get("name")): i for i in res.information_items or [] if isinstance(i, dict)}
    columns = [SchemaColumn(name=c.name, type=c.type, data_type=_data_type(items.get(c.name, {}).get("data_type")),
                            data_type_en=_data_type(items.get(c.name, {}).get("data_type"), en=True),
                            description=items.get(c.name, {}).get("description") or None, masked=c.masked)
               for c in item.columns]
    return SchemaTable(code=res.code, alias=res.alias, name=res.name,
                       department=res.provider.name if res.provider else None, version=item.version,
                       rows=item.rows, sql_name=sql_name(res), columns=columns, grant=item.grant)


def readable_schema(*, session: Session, settings: Settings, actor: Actor,
                    plugins: PluginManager | None = None) -> WorkbenchSchema:
    """The resources ``actor`` may query (with data), and the columns it sees of each, after
    the same access hook every query applies: hidden columns are left out, masked ones say so.
    Resources of other departments read through a grant (the ``query_granted_tables`` hook)
    follow, with the grant's columns only (``grant`` set)."""
    require(actor, QUERY_RUN)
    plugins = plugins if plugins is not None else plugins_of(session)
    resources = [r for r in session.scalars(select(CatalogResource).where(CatalogResource.is_deleted.is_(False))
                                            .order_by(CatalogResource.code)) if can_read_data(actor, r)]
    versions = _latest_versions(session, [r.id for r in resources])
    tables = [t for r in resources if r.id in versions
              and (t := _table(session, settings, actor, plugins, r, versions[r.id])) is not None]
    readable = {t.code for t in tables}
    tables += sorted((_granted(g) for g in granted_tables(plugins, session, settings, actor)
                      if g.resource.code not in readable), key=lambda t: t.code)
    return WorkbenchSchema(tables=tables, timeout_s=settings.query_timeout_s, max_rows=settings.query_max_rows,
                           page_size_max=settings.page_size_max)


def _names_of_denied(session: Session, details: Mapping[str, Any]) -> list[str]:
    """Every way the SQL may have written a resource a refusal names (code, alias, name)."""
    code = details.get("resource_id")
    if details.get("resource_type") != "catalog.resource" or not isinstance(code, str):
        return []
    try:
        res = find_resource(session, code)
    except NotFound:
        return [code]
    return [n for n in (res.code, res.alias, res.name) if n]


def mark_refusal(session: Session, sql: str, exc: ShudataError) -> None:
    """Add ``details.mark`` — the span of ``sql`` the refusal points at — when one is found."""
    details = dict(exc.details) if isinstance(exc.details, dict) else {}
    names = _names_of_denied(session, details)
    span = locate(sql, {**details, "names": names} if names else details, exc.zh)
    if span is not None:
        details["mark"] = span
        exc.details = details


def _history(actor: Actor, data: WorkbenchRun, **fields: Any) -> QueryHistory:
    return QueryHistory(owner=actor.username, owner_user_id=actor.user_id, sql=data.sql[:100_000],
                        saved_id=data.saved_id, **fields)


def _keep_recent(session: Session, owner: str) -> None:
    """Drop the owner's runs older than the newest :data:`HISTORY_KEPT` (the history is a
    convenience; the audit trail keeps every run)."""
    oldest_kept = (select(QueryHistory.id).where(QueryHistory.owner == owner).order_by(QueryHistory.id.desc())
                   .offset(HISTORY_KEPT - 1).limit(1).scalar_subquery())
    session.execute(delete(QueryHistory).where(QueryHistory.owner == owner, QueryHistory.id < oldest_kept))


def run(*, session: Session, settings: Settings, actor: Actor, data: WorkbenchRun, engine: Engine | None = None,
        runs: RunRegistry = RUNS) -> WorkbenchResult:
    """Run one page of ``data.sql`` for the workbench.

    While it runs, ``data.run_id`` lets the caller cancel it (:func:`cancel`). With
    ``data.record`` the run goes into the caller's history — refused, timed-out and cancelled
    runs too: a refusal's history row is committed before the refusal is raised (the request's
    transaction is then rolled back). A refusal carries ``details.mark``, the offending span.
    """
    require(actor, QUERY_RUN)
    if data.saved_id is not None:
        saved.get_saved(session=session, actor=actor, saved_id=data.saved_id)  # 404 unless the caller sees it
    with runs.running(actor.username, data.run_id) as handle:
        try:
            result = service.run_query(session=session, settings=settings, actor=actor, sql=data.sql,
                                       offset=data.offset, limit=data.limit, versions=data.versions,
                                       count=data.count, engine=engine, cancel=handle)
        except ShudataError as exc:
            mark_refusal(session, data.sql, exc)
            if data.record and actor.is_authenticated:
                session.rollback()
                session.add(_history(actor, data, status=STATUS_OF_CODE.get(exc.code, "refused"),
                                     error_code=exc.code, message=exc.zh[:2000]))
                session.flush()
                _keep_recent(session, actor.username)
                session.commit()
            raise
    history_id = None
    if data.record and actor.is_authenticated:
        row = _history(actor, data, status="success", rows=len(result.rows), total=result.total,
                       elapsed_ms=result.elapsed_ms, tables=[t.model_dump() for t in result.tables])
        session.add(row)
        session.flush()
        _keep_recent(session, actor.username)
        history_id = row.id
    return WorkbenchResult(**result.model_dump(), run_id=data.run_id, history_id=history_id,
                           timeout_s=settings.query_timeout_s)


def cancel(*, session: Session, actor: Actor, run_id: str, runs: RunRegistry = RUNS) -> CancelResult:
    """Stop the caller's own run ``run_id`` on the server (404 when none of theirs is running)."""
    require(actor, QUERY_RUN_CANCEL, ResourceRef("query.run", run_id, owner=actor.username))
    if not runs.cancel(actor.username, run_id):
        raise NotFound("没有正在运行的这条查询（可能已经结束）",
                       "No such query of yours is running (it may have finished)", code="run_not_found",
                       details={"action": QUERY_RUN_CANCEL.name, "resource_type": "query"})
    record(session, actor, events.QueryRunCancel(resource_id=run_id[:200], details={"run_id": run_id}))
    return CancelResult(run_id=run_id, cancelled=True)
