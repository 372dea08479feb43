"""Saved queries (private, or shared within the owner's department) and each user's run history.

Visibility: a user sees their own saved queries and those their department shares; anything
else answers 404, as if it did not exist (a private query's name and SQL are nobody else's
business). Only the owner changes or deletes one (403 for a colleague who can see it). Saving
checks that the SQL is one well-formed statement; whether it may read its tables is decided
each time it runs, for whoever runs it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.clock import utcnow
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from shudata.core.types import Actor, ResourceRef
from shudata.query.actions import QUERY_HISTORY_VIEW, QUERY_SAVED_MANAGE
from shudata.query.models import QueryHistory, QuerySaved
from shudata.query.rules.parse import parse_one_statement
from shudata.query.workbench_schemas import (
    HistoryPage,
    HistoryRead,
    SavedQueryCreate,
    SavedQueryRead,
    SavedQueryUpdate,
)
from shudata.security.authz import require

ACTION_DETAILS = {"action": QUERY_SAVED_MANAGE.name, "resource_type": "query.saved"}


def _ref(saved: QuerySaved | None, actor: Actor) -> ResourceRef:
    owner = saved.owner if saved is not None else actor.username
    return ResourceRef("query.saved", saved.id if saved is not None else None,
                       department_id=saved.department_id if saved is not None else actor.department_id, owner=owner)


def _read(saved: QuerySaved, actor: Actor) -> SavedQueryRead:
    out = SavedQueryRead.model_validate(saved)
    out.mine = saved.owner == actor.username
    return out


def _require_account(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise Unauthenticated("请先登录或提供有效的 API 令牌", "Log in or send a valid API token first",
                              code="unauthenticated", details=ACTION_DETAILS)
    if actor.user_id is None and not actor.is_system:
        raise PermissionDenied("只有平台账号可以保存查询和查看查询历史",
                               "Only platform accounts save queries and keep a query history",
                               code="permission_denied", details=ACTION_DETAILS)


def _visible(actor: Actor) -> ColumnElement[bool]:
    own = QuerySaved.owner == actor.username
    if actor.department_id is None:
        return own
    return or_(own, (QuerySaved.visibility == "department") & (QuerySaved.department_id == actor.department_id))


def list_saved(*, session: Session, actor: Actor) -> list[SavedQueryRead]:
    """The caller's saved queries and those shared in their department, most recently changed first."""
    _require_account(actor)
    rows = session.scalars(select(QuerySaved).where(_visible(actor))
                           .order_by(QuerySaved.updated_at.desc(), QuerySaved.id.desc()))
    return [_read(s, actor) for s in rows]


def _get(session: Session, actor: Actor, saved_id: int) -> QuerySaved:
    saved = session.scalars(select(QuerySaved).where(QuerySaved.id == saved_id, _visible(actor))).first()
    if saved is None:
        raise NotFound(f"没有编号为 {saved_id} 的已保存查询（或它不对您共享）",
                       f"No saved query {saved_id} (or it is not shared with you)", code="saved_query_not_found",
                       details={**ACTION_DETAILS, "resource_id": str(saved_id)})
    return saved


def get_saved(*, session: Session, actor: Actor, saved_id: int) -> SavedQueryRead:
    _require_account(actor)
    return _read(_get(session, actor, saved_id), actor)


def _check_sql(sql: str) -> None:
    parse_one_statement(sql)  # 422 with line and column when it is not one well-formed statement


def _check_visibility(actor: Actor, visibility: str) -> None:
    if visibility == "department" and actor.department_id is None:
        raise InvalidInput("您没有所属部门，查询只能保存为仅本人可见",
                           "You belong to no department: save the query as private",
                           code="saved_query_no_department", details=ACTION_DETAILS)


def _check_name_free(session: Session, owner: str, name: str, keep: int | None = None) -> None:
    stmt = select(QuerySaved.id).where(QuerySaved.owner == owner, QuerySaved.name == name)
    found = session.scalars(stmt).first()
    if found is not None and found != keep:
        raise Conflict(f"您已有名为“{name}”的查询，请换一个名称", f"You already have a query named {name!r}",
                       code="saved_query_name_taken", details=ACTION_DETAILS)


def create_saved(*, session: Session, actor: Actor, data: SavedQueryCreate) -> SavedQueryRead:
    """Save a query for the caller (private, or shared with their department)."""
    _require_account(actor)
    require(actor, QUERY_SAVED_MANAGE, _ref(None, actor))
    _check_sql(data.sql)
    _check_visibility(actor, data.visibility)
    _check_name_free(session, actor.username, data.name)
    saved = QuerySaved(owner=actor.username, owner_user_id=actor.user_id, department_id=actor.department_id,
                       name=data.name, description=data.description, sql=data.sql, visibility=data.visibility)
    session.add(saved)
    session.flush()
    record(session, actor, events.QuerySavedCreate(resource_id=str(saved.id),
                                                   details={"name": saved.name, "visibility": saved.visibility}))
    return _read(saved, actor)


def update_saved(*, session: Session, actor: Actor, saved_id: int, data: SavedQueryUpdate) -> SavedQueryRead:
    """Change the caller's own saved query (404 when not visible, 403 when a colleague's)."""
    _require_account(actor)
    saved = _get(session, actor, saved_id)
    require(actor, QUERY_SAVED_MANAGE, _ref(saved, actor))
    changes = data.model_dump(exclude_none=True)
    if "sql" in changes:
        _check_sql(changes["sql"])
    if "visibility" in changes:
        _check_visibility(actor, changes["visibility"])
    if "name" in changes:
        _check_name_free(session, saved.owner, changes["name"], keep=saved.id)
    changed = sorted(k for k, v in changes.items() if getattr(saved, k) != v)
    for key in changed:
        setattr(saved, key, changes[key])
    if changed:
        saved.updated_at = utcnow()
        record(session, actor, events.QuerySavedUpdate(resource_id=str(saved.id), details={"changed": changed}))
    session.flush()
    return _read(saved, actor)


def delete_saved(*, session: Session, actor: Actor, saved_id: int) -> None:
    """Delete the caller's own saved query; its history rows stay (without the link)."""
    _require_account(actor)
    saved = _get(session, actor, saved_id)
    require(actor, QUERY_SAVED_MANAGE, _ref(saved, actor))
    session.execute(update(QueryHistory).where(QueryHistory.saved_id == saved.id).values(saved_id=None))
    record(session, actor, events.QuerySavedDelete(resource_id=str(saved.id), details={"name": saved.name}))
    session.delete(saved)
    session.flush()


def list_history(*, session: Session, actor: Actor, offset: int = 0, limit: int = 50) -> HistoryPage:
    """The caller's own workbench runs, newest first."""
    _require_account(actor)
    require(actor, QUERY_HISTORY_VIEW, ResourceRef("query.history", None, owner=actor.username))
    where = QueryHistory.owner == actor.username
    total = int(session.scalar(select(func.count()).select_from(QueryHistory).where(where)) or 0)
    rows = session.scalars(select(QueryHistory).where(where)
                           .order_by(QueryHistory.created_at.desc(), QueryHistory.id.desc())
                           .offset(offset).limit(limit))
    return HistoryPage(items=[HistoryRead.model_validate(r) for r in rows], total=total, offset=offset, limit=limit)
