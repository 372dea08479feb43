"""Use cases of the catalog: register, update, soft-delete, read and list entries, history.

Every function is keyword-only with ``session`` and ``actor`` first, checks authorization
first, records an audit event in the caller's transaction, keeps a catalog version of
every change and keeps the search index in step. None of them commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog import actions as A
from shudata.catalog import codes, search_index, versions, visibility
from shudata.catalog.access import find_resource, resource_ref
from shudata.catalog.freshness import Latest, freshness, latest_versions
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import (
    RESOURCE_CODE_RE,
    OpenAttributes,
    OpenType,
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
    RevisionRead,
    SharingAttributes,
    SharingMethod,
    SharingType,
)
from shudata.core.clock import utcnow
from shudata.core.errors import Conflict, InvalidInput, NotFound
from shudata.core.types import Actor, Page, ResourceRef
from shudata.security.authz import require
from shudata.security.models import Department

PLAIN_FIELDS = ("name", "alias", "classification", "category_path", "abstract", "format_category", "format_type",
                "update_cycle", "publish_date", "related_codes", "base_registry", "tags")


# -- reading ---------------------------------------------------------------------------------

def to_read(res: CatalogResource, latest: Latest | None, now: dt.datetime | None = None) -> ResourceRead:
    """The API shape of an entry, with its freshness at ``now``."""
    status, overdue = freshness(res.update_cycle, latest.created_at if latest else None, res.created_at,
                                now or utcnow())
    data: dict[str, Any] = {f: getattr(res, f) for f in PLAIN_FIELDS}
    data.update(
        id=res.id, code=res.code, provider_department_id=res.provider_department_id,
        provider_name=res.provider.name, provider_code=res.provider.uscc, revision=res.revision,
        information_items=res.information_items or [],
        sharing=SharingAttributes.model_construct(type=SharingType(res.sharing_type),
                                                  condition=res.sharing_condition,
                                                  method=SharingMethod(res.sharing_method)),
        open=OpenAttributes.model_construct(type=OpenType(res.open_type), condition=res.open_condition),
        latest_data_version=latest.version if latest else None,
        latest_data_at=latest.created_at if latest else None,
        overdue=overdue, freshness=status, created_at=res.created_at, updated_at=res.updated_at,
    )
    return ResourceRead.model_validate(data)


def to_reads(session: Session, rows: Sequence[CatalogResource]) -> list[ResourceRead]:
    """Many entries with their freshness from one aggregate query over the lake."""
    latest = latest_versions(session, [r.id for r in rows])
    now = utcnow()
    return [to_read(r, latest.get(r.id), now) for r in rows]


def get_resource(*, session: Session, actor: Actor, key: str) -> ResourceRead:
    """An entry by code, alias, exact name or id."""
    require(actor, A.RESOURCE_VIEW)
    return to_reads(session, [visibility.require_visible(session, actor, find_resource(session, key), key)])[0]


def list_resources(*, session: Session, actor: Actor, department_id: int | None = None,
                   offset: int = 0, limit: int = 50) -> Page[ResourceRead]:
    """Entries (newest first), optionally of one provider department."""
    require(actor, A.RESOURCE_VIEW)
    cond: list[ColumnElement[bool]] = [CatalogResource.is_deleted.is_(False), *visibility.visible(
        CatalogResource.provider_department_id, visibility.hidden_departments(session, actor))]
    if department_id is not None:
        cond.append(CatalogResource.provider_department_id == department_id)
    total = session.scalar(select(func.count()).select_from(CatalogResource).where(*cond)) or 0
    rows = session.scalars(select(CatalogResource).where(*cond).order_by(CatalogResource.id.desc())
                           .offset(offset).limit(min(limit, 500))).all()
    return Page(items=to_reads(session, rows), total=total, offset=offset, limit=limit)


def history(*, session: Session, actor: Actor, code: str) -> list[RevisionRead]:
    """Every catalog version of an entry, newest first."""
    require(actor, A.RESOURCE_VIEW)
    res = visibility.require_visible(session, actor, find_resource(session, code), code)
    return versions.revisions(session, res.id)


# -- writing ---------------------------------------------------------------------------------

def snapshot(res: CatalogResource) -> dict[str, Any]:
    """The full metadata of an entry as JSON-ready values."""
    data: dict[str, Any] = {f: getattr(res, f) for f in PLAIN_FIELDS}
    data["publish_date"] = res.publish_date.isoformat() if res.publish_date else None
    data.update(code=res.code, provider_department_id=res.provider_department_id,
                information_items=res.information_items, sharing_type=res.sharing_type,
                sharing_condition=res.sharing_condition, sharing_method=res.sharing_method,
                open_type=res.open_type, open_condition=res.open_condition, is_deleted=res.is_deleted)
    return data


def _apply(res: CatalogResource, values: dict[str, Any]) -> None:
    for f in PLAIN_FIELDS:
        if f in values:
            setattr(res, f, values[f])
    if "information_items" in values:
        res.information_items = [dict(i) for i in values["information_items"]]
    if (sharing := values.get("sharing")) is not None:
        res.sharing_type, res.sharing_condition, res.sharing_method = (
            int(sharing["type"]), sharing.get("condition"), str(sharing["method"]))
    if (opened := values.get("open")) is not None:
        res.open_type, res.open_condition = str(opened["type"]), opened.get("condition")


def _check_refs(session: Session, res_id: int | None, alias: str | None, related: list[str]) -> None:
    bad = [c for c in related if not RESOURCE_CODE_RE.match(c)]
    if bad:
        raise InvalidInput(f"关联资源代码格式不对：{'、'.join(bad)}", f"Invalid related codes: {', '.join(bad)}",
                           code="invalid_related_codes")
    if alias:
        other = session.scalar(select(CatalogResource.id).where(CatalogResource.alias == alias))
        if other is not None and other != res_id:
            raise Conflict(f"别名“{alias}”已被其他资源使用", f"Alias {alias!r} is already used", code="alias_taken")


def entry_text(res: CatalogResource) -> search_index.EntryText:
    return search_index.EntryText.of(
        res.id, name=res.name, code=res.code, provider=res.provider.name, abstract=res.abstract,
        items=res.information_items or [], tags=[*(res.tags or []), res.category_path or "", res.base_registry or ""])


def _record(session: Session, actor: Actor, kind: type[events.Event], res: CatalogResource, **details: Any) -> None:
    record(session, actor, kind(resource_id=res.code, details={"name": res.name, "revision": res.revision, **details}))


def register_resource(*, session: Session, actor: Actor, data: ResourceCreate,
                      comment: str | None = None) -> ResourceRead:
    """Register a new entry for the actor's department (or, for the platform admin, any);
    the code is allocated from ``category_code`` when not given."""
    require(actor, A.RESOURCE_CREATE)
    dept_id = data.provider_department_id or actor.department_id
    if dept_id is None:
        raise InvalidInput("请指定提供方部门", "Give the provider department", code="provider_missing")
    require(actor, A.RESOURCE_EDIT, ResourceRef("catalog.resource", None, department_id=dept_id))
    if session.get(Department, dept_id) is None:
        raise NotFound(f"部门 {dept_id} 不存在", f"Department {dept_id} not found", code="department_not_found")
    _check_refs(session, None, data.alias, data.related_codes)
    values = data.model_dump(mode="json", exclude={"code", "category_code", "provider_department_id"})
    values["publish_date"] = data.publish_date

    def insert(code: str) -> CatalogResource:
        res = CatalogResource(code=code, provider_department_id=dept_id, revision=1)
        _apply(res, values)
        session.add(res)
        session.flush()
        return res

    if data.code:
        if session.scalar(select(CatalogResource.id).where(CatalogResource.code == data.code)) is not None:
            raise Conflict(f"资源代码 {data.code} 已存在", f"Resource code {data.code} already exists",
                           code="code_taken")
        res = insert(data.code)
    else:
        prefix = data.category_code or codes.DEFAULT_CATEGORY[data.classification]
        res = codes.allocate(session, prefix, insert)
    session.refresh(res)
    versions.add_revision(session, actor, res, snapshot(res), sorted(snapshot(res)), comment or "登记")
    _record(session, actor, events.CatalogResourceCreate, res)
    search_index.index_entry(session, entry_text(res))
    return to_reads(session, [res])[0]


def _editable(session: Session, actor: Actor, key: str) -> CatalogResource:
    res = find_resource(session, key)
    require(actor, A.RESOURCE_EDIT, resource_ref(res))
    return res


def update_resource(*, session: Session, actor: Actor, code: str, data: ResourceUpdate) -> ResourceRead:
    """Change an entry; a new catalog version records the changed fields."""
    res = _editable(session, actor, code)
    values = data.model_dump(mode="json", exclude_unset=True, exclude={"comment"})
    if "publish_date" in values:
        values["publish_date"] = data.publish_date
    for required in ("name", "abstract", "classification", "format_category", "update_cycle", "sharing"):
        if required in values and values[required] is None:
            raise InvalidInput(f"“{required}”不能为空", f"{required} cannot be empty", code="field_required")
    _check_refs(session, res.id, values.get("alias"), values.get("related_codes") or [])
    before = snapshot(res)
    _apply(res, values)
    after = snapshot(res)
    fields = versions.changed(before, after)
    if not fields:
        return to_reads(session, [res])[0]
    res.revision += 1
    res.updated_at = utcnow()
    session.flush()
    versions.add_revision(session, actor, res, after, fields, data.comment)
    _record(session, actor, events.CatalogResourceUpdate, res, changed=fields)
    search_index.index_entry(session, entry_text(res))
    return to_reads(session, [res])[0]


def delete_resource(*, session: Session, actor: Actor, code: str, comment: str | None = None) -> ResourceRead:
    """Soft-delete an entry: it leaves lists and search; its code stays reserved and its
    history stays readable by id."""
    res = _editable(session, actor, code)
    before = snapshot(res)
    res.is_deleted = True
    res.alias = None
    res.revision += 1
    res.updated_at = utcnow()
    session.flush()
    after = snapshot(res)
    versions.add_revision(session, actor, res, after, versions.changed(before, after), comment or "删除")
    _record(session, actor, events.CatalogResourceDelete, res)
    search_index.unindex_entry(session, res.id)
    return to_reads(session, [res])[0]


def rebuild_search_index(*, session: Session, actor: Actor, department_id: int | None = None) -> int:
    """Reindex every live entry (all, or one provider department's, e.g. after the department
    was renamed, since the provider's name is indexed). Platform admin only. Returns the
    number of entries indexed."""
    require(actor, A.PLATFORM_DASHBOARD if department_id is None else A.RESOURCE_EDIT,
            None if department_id is None else ResourceRef("catalog.resource", None, department_id=department_id))
    stmt = select(CatalogResource).where(CatalogResource.is_deleted.is_(False))
    if department_id is not None:
        stmt = stmt.where(CatalogResource.provider_department_id == department_id)
    rows = session.scalars(stmt.order_by(CatalogResource.id)).all()
    record(session, actor, events.CatalogSearchReindex(details={"department_id": department_id, "entries": len(rows)}))
    for res in rows:
        search_index.index_entry(session, entry_text(res))
    return len(rows)


def reindex_department_entries(session: Session, department_id: int) -> None:
    """Reindex a department's entries, e.g. under its new name (no actor check: called by the
    ``department_renamed`` hook, :mod:`shudata.catalog.hooks`; the rename was authorised and audited)."""
    stmt = select(CatalogResource).where(CatalogResource.is_deleted.is_(False),
                                         CatalogResource.provider_department_id == department_id)
    for res in session.scalars(stmt.order_by(CatalogResource.id)).all():
        search_index.index_entry(session, entry_text(res))
