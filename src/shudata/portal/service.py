"""Publication use cases and the one definition of what the portal may show.

A dataset is *visible* when its entry exists, its open class is 无条件开放 or 有条件开放,
and it has a current published version (gate passed, not withdrawn). Every public page,
the Action API, DCAT, sitemaps and downloads resolve datasets through :func:`visible` /
:func:`get_dataset`, so an entry that is unpublished, withdrawn or 不予开放 cannot leak by
one path while the others hide it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource, resource_ref
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, ShudataError
from shudata.core.textsafe import require_plain_text
from shudata.core.types import Actor
from shudata.db.deferred import before_commit
from shudata.lake.models import LakeVersion
from shudata.lake.service import get_version
from shudata.portal import actions as A
from shudata.portal import downloads
from shudata.portal.gate import GateOutcome, portal_dir, run_gate
from shudata.portal.models import PortalDataset, PortalKeyUsage, PortalPublication, PortalUsage
from shudata.portal.schemas import PublicationRead
from shudata.portal.states import PUBLICATIONS, DatasetStatus, PublicationEvent, PublicationStatus
from shudata.security.authz import require

OPEN = "无条件开放"
CONDITIONAL = "有条件开放"
CLOSED = "不予开放"
OPEN_CLASSES = (OPEN, CONDITIONAL)
OPEN_CLASS_LABELS = {OPEN: ("无条件开放", "Open"), CONDITIONAL: ("有条件开放", "Conditional")}
GENERIC_ROOTS = ("基础信息资源", "主题信息资源", "部门信息资源")


class PublishRefused(ShudataError):
    """The gate found personal data left unmasked; the findings are in ``details``."""

    status = 422
    default_code = "publish_refused"


def dataset_name(resource: CatalogResource) -> str:
    """The dataset's public (CKAN) name: the resource code with ``/`` as ``-``.

    >>> class R: code = "101001/000123"
    >>> dataset_name(R())  # type: ignore[arg-type]
    '101001-000123'
    """
    return resource.code.replace("/", "-").lower()


def theme_of(category_path: str | None) -> str:
    """The portal theme (主题) of an entry: the first specific segment of its category path.

    >>> theme_of("基础信息资源/法人/法人单位基础信息"), theme_of("经济运行/价格/居民消费价格指数"), theme_of(None)
    ('法人', '经济运行', '其他')
    """
    parts = [p for p in (category_path or "").split("/") if p.strip()]
    if parts and parts[0] in GENERIC_ROOTS:
        parts = parts[1:]
    return parts[0][:60] if parts else "其他"


def visible_condition() -> ColumnElement[bool]:
    """SQL condition (over ``PortalDataset`` joined with ``CatalogResource``) of a visible dataset."""
    return and_(PortalDataset.status == DatasetStatus.PUBLISHED, PortalDataset.version.is_not(None),
                CatalogResource.is_deleted.is_(False), CatalogResource.open_type.in_(OPEN_CLASSES))


def visible() -> Select[PortalDataset, CatalogResource]:
    """``SELECT PortalDataset, CatalogResource`` of the visible datasets (add filters and order)."""
    return (select(PortalDataset, CatalogResource)
            .join(CatalogResource, CatalogResource.id == PortalDataset.resource_id).where(visible_condition()))


@dataclass(frozen=True)
class PublicDataset:
    """A visible dataset with its current publication (the only file the portal serves)."""

    dataset: PortalDataset
    resource: CatalogResource
    publication: PortalPublication

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def conditional(self) -> bool:
        return self.resource.open_type == CONDITIONAL

    def file(self, settings: Settings) -> Path:
        if self.publication.file is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("self.publication.file is unexpectedly None")
        return portal_dir(settings) / self.publication.file


def _current_publication(session: Session, resource_id: int, version: int) -> PortalPublication | None:
    return session.scalar(select(PortalPublication).where(
        PortalPublication.resource_id == resource_id, PortalPublication.version == version,
        PortalPublication.status == PublicationStatus.PUBLISHED).order_by(PortalPublication.id.desc()).limit(1))


def get_dataset(session: Session, key: str) -> PublicDataset:
    """A visible dataset by name, resource code, alias or title; 404 otherwise (also when hidden)."""
    k = key.strip()
    row = session.execute(visible().where(or_(PortalDataset.name == k.lower(), CatalogResource.code == k,
                                              CatalogResource.alias == k, CatalogResource.name == k))
                          .limit(1)).first()
    if row is None:
        raise NotFound(f"开放数据集“{k}”不存在或未开放", f"Open dataset {k!r} not found", code="dataset_not_found")
    ds, res = row[0], row[1]
    if ds.version is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("ds.version is unexpectedly None")
    pub = _current_publication(session, res.id, ds.version)
    if pub is None or pub.file is None:
        raise NotFound(f"开放数据集“{k}”不存在或未开放", f"Open dataset {k!r} not found", code="dataset_not_found")
    return PublicDataset(ds, res, pub)


def publications(session: Session, resource_id: int, *, statuses: tuple[str, ...] | None = None
                 ) -> list[PortalPublication]:
    stmt = select(PortalPublication).where(PortalPublication.resource_id == resource_id)
    if statuses:
        stmt = stmt.where(PortalPublication.status.in_(statuses))
    return list(session.scalars(stmt.order_by(PortalPublication.version.desc(), PortalPublication.id.desc())))


def _newest_published(session: Session, resource_id: int) -> int | None:
    return session.scalar(select(func.max(PortalPublication.version)).where(
        PortalPublication.resource_id == resource_id, PortalPublication.status == PublicationStatus.PUBLISHED))


def _sync_dataset(session: Session, res: CatalogResource) -> PortalDataset | None:
    """Point the dataset at its newest published version (or mark it withdrawn)."""
    newest = _newest_published(session, res.id)
    ds = session.scalar(select(PortalDataset).where(PortalDataset.resource_id == res.id))
    now = utcnow()
    if ds is None:
        if newest is None:
            return None
        ds = PortalDataset(resource_id=res.id, name=dataset_name(res), status=DatasetStatus.PUBLISHED,
                           version=newest,
                           theme=theme_of(res.category_path), first_published_at=now, published_at=now,
                           views=0, downloads=0, api_calls=0)
        session.add(ds)
    elif newest is None:
        ds.status, ds.version = DatasetStatus.WITHDRAWN, None
    else:
        if ds.version != newest or ds.status != DatasetStatus.PUBLISHED:
            ds.published_at = now
        ds.status, ds.version = DatasetStatus.PUBLISHED, newest
        ds.theme = theme_of(res.category_path)
    session.flush()
    return ds


def _check_open_class(res: CatalogResource) -> None:
    if res.open_type not in OPEN_CLASSES:
        raise Conflict(f"目录条目“{res.name}”的开放类型为“{res.open_type}”，不能发布到开放平台；"
                       "请先在目录中修改开放类型",
                       f"Entry {res.code} is not open ({res.open_type}); change its open type in the catalog first",
                       code="not_open", details={"action": A.PUBLISH.name, "resource_id": res.code})


def _save(session: Session, res: CatalogResource, v: LakeVersion, outcome: GateOutcome, actor: Actor
          ) -> PortalPublication:
    pub = PortalPublication(
        resource_id=res.id, version=v.version,
        status=PublicationStatus.PUBLISHED if outcome.passed else PublicationStatus.REFUSED,
        policy=outcome.policy, gate=outcome.result.as_dict(), operators=outcome.operators,
        file=f"{res.id}/{outcome.path.name}" if outcome.path else None,
        rows=outcome.rows if outcome.passed else 0, bytes=outcome.bytes, sha256=outcome.sha256,
        columns=outcome.columns, created_by=actor.username)
    session.add(pub)
    session.flush()
    return pub


def _gate_and_record(session: Session, settings: Settings, actor: Actor, res: CatalogResource,
                     v: LakeVersion) -> PortalPublication:
    outcome = run_gate(session, settings, res, v)
    if outcome.passed:  # an earlier publication of the same version is replaced
        session.execute(update(PortalPublication).where(
            PortalPublication.resource_id == res.id, PortalPublication.version == v.version,
            PortalPublication.status == PublicationStatus.PUBLISHED).values(status=PublicationStatus.SUPERSEDED))
    pub = _save(session, res, v, outcome, actor)
    if outcome.passed:
        _sync_dataset(session, res)
        downloads.after_publish(session, settings, pub, res.name)  # CSV/JSON/XLSX written once this commits
    record(session, actor, events.PortalDatasetPublish(
        outcome="success" if outcome.passed else "rejected",
        resource_id=res.code,
        details={"version": v.version, "publication": pub.id, "policy": outcome.policy,
                 "passed": outcome.passed, "rows": pub.rows,
                 "violations": [f.model_dump() for f in outcome.result.violations]}))
    return pub


def refusal(pub: PortalPublication, res: CatalogResource) -> PublishRefused:
    cols = "、".join(f"{v['column']}（{v['entity']}）" for v in pub.gate.get("violations", []))
    return PublishRefused(
        f"发布被开放闸门拒绝：按开放脱敏策略处理后，以下列仍含可识别的个人信息：{cols}。"
        "请为这些列配置脱敏规则（策略名 " + res.code.replace("/", "-") + "-open）后重新发布",
        "Publication refused by the open-data gate: after masking with the open policy these columns still "
        "hold recognisable personal data: " + ", ".join(f"{v['column']} ({v['entity']})"
                                                      for v in pub.gate.get("violations", [])),
        details={"action": A.PUBLISH.name, "resource_id": res.code, "publication": pub.id, "gate": pub.gate})


def refusal_of(session: Session, publication_id: int) -> PublishRefused:
    """The 422 error describing a refused publication (its findings in ``details.gate``)."""
    pub = session.get(PortalPublication, publication_id)
    if pub is None:
        raise NotFound("没有这条发布记录", "No such publication", code="publication_not_found")
    res = session.get(CatalogResource, pub.resource_id)
    if res is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("res is unexpectedly None")
    return refusal(pub, res)


def publish(*, session: Session, settings: Settings, actor: Actor, resource: str,
            version: int | None = None) -> PublicationRead:
    """Run the gate on a version and publish it when nothing personal remains unmasked.

    The publication (passed or refused, with the findings) is recorded either way; the
    caller commits. A refused publication is returned with ``status == "refused"``.
    """
    res = find_resource(session, resource)
    require(actor, A.PUBLISH, resource_ref(res))
    _check_open_class(res)
    v = get_version(session, res.id, version)
    pub = _gate_and_record(session, settings, actor, res, v)
    return PublicationRead.model_validate(pub)


def publish_or_refuse(*, session: Session, settings: Settings, actor: Actor, resource: str,
                      version: int | None = None) -> PublicationRead:
    """:func:`publish`, for callers that answer a refusal with an error (the API's 422): a
    refused publication is committed first — the steward keeps the record and its findings
    although the call fails — then raised as :class:`PublishRefused` (findings in
    ``details.gate``)."""
    pub = publish(session=session, settings=settings, actor=actor, resource=resource, version=version)
    if pub.status == PublicationStatus.REFUSED:
        session.commit()
        raise refusal_of(session, pub.id)
    return pub


def republish_new_version(session: Session, settings: Settings, actor: Actor, res: CatalogResource,
                          v: LakeVersion) -> PortalPublication | None:
    """After an ingest: a published dataset's new version goes through the gate too.

    Passed → the portal serves it; refused → the previous version stays served and the
    refusal (with findings) waits in the steward's list. Not published → nothing happens.
    """
    ds = session.scalar(select(PortalDataset).where(PortalDataset.resource_id == res.id))
    if ds is None or ds.status != DatasetStatus.PUBLISHED or res.open_type not in OPEN_CLASSES:
        return None
    return _gate_and_record(session, settings, actor, res, v)


def withdraw(*, session: Session, settings: Settings, actor: Actor, resource: str, reason: str,
             version: int | None = None) -> PublicationRead:
    """Withdraw a published version at once; the dataset falls back to an older published
    version, or disappears from the portal when none is left."""
    require_plain_text(reason, "reason")
    res = find_resource(session, resource)
    require(actor, A.WITHDRAW, resource_ref(res))
    if version is None:
        version = _newest_published(session, res.id)
    pub = None if version is None else _current_publication(session, res.id, version)
    if pub is None:
        raise NotFound(f"“{res.name}”没有已发布的版本{'' if version is None else f' v{version}'}可撤回",
                       f"No published version{'' if version is None else f' {version}'} of {res.code} to withdraw",
                       details={"action": A.WITHDRAW.name, "resource_id": res.code}, code="publication_not_found")
    pub.status = PUBLICATIONS.next(pub.status, PublicationEvent.WITHDRAW)
    pub.withdrawn_at, pub.withdrawn_by, pub.withdraw_reason = utcnow(), actor.username, reason
    session.flush()
    _sync_dataset(session, res)
    record(session, actor, events.PortalDatasetWithdraw(
        resource_id=res.code,
        details={"version": pub.version, "publication": pub.id, "reason": reason}))
    return PublicationRead.model_validate(pub)


def list_publications(*, session: Session, actor: Actor, resource: str) -> list[PublicationRead]:
    """Every gate run of an entry, newest first (for the steward)."""
    res = find_resource(session, resource)
    require(actor, A.VIEW_GATE, resource_ref(res))
    return [PublicationRead.model_validate(p) for p in publications(session, res.id)]


def department_publications(session: Session, department_id: int | None, limit: int = 200
                            ) -> list[tuple[PortalPublication, CatalogResource]]:
    """Newest gate runs of a department's entries (all departments when ``None``)."""
    stmt = select(PortalPublication, CatalogResource).join(
        CatalogResource, CatalogResource.id == PortalPublication.resource_id)
    if department_id is not None:
        stmt = stmt.where(CatalogResource.provider_department_id == department_id)
    return [(p, r) for p, r in session.execute(stmt.order_by(PortalPublication.id.desc()).limit(limit)).all()]


# -- usage counters -------------------------------------------------------------------------

CST = dt.timezone(dt.timedelta(hours=8))
KINDS = ("view", "download", "api")
_COUNTER = {"view": PortalDataset.views, "download": PortalDataset.downloads, "api": PortalDataset.api_calls}


def today() -> dt.date:
    return utcnow().astimezone(CST).date()


def upsert_add(session: Session, table: type[PortalUsage] | type[PortalKeyUsage], keys: dict[str, object],
               amount: int = 1) -> None:
    """``INSERT … ON CONFLICT DO UPDATE SET count = count + amount`` on SQLite and PostgreSQL."""
    ins = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)
    stmt = ins.values(**keys, count=amount)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={"count": table.count + amount})
    session.execute(stmt)


def count_use(session: Session, ds: PublicDataset, kind: str, amount: int = 1) -> None:
    """Count a view, download or API call of a dataset (daily and in total), in the caller's
    transaction just before it commits (:func:`shudata.db.deferred.before_commit`: the
    counters are written at the commit, so a read does not hold SQLite's write lock while
    its page is prepared)."""
    if kind not in KINDS:
        raise InvalidInput(f"未知的使用类型 {kind}", f"Unknown usage kind {kind}", code="unknown_usage_kind")
    keys = {"day": today(), "resource_id": ds.resource.id, "kind": kind}
    col, dataset_id = _COUNTER[kind], ds.dataset.id

    def write(s: Session) -> None:
        upsert_add(s, PortalUsage, keys, amount)
        s.execute(update(PortalDataset).where(PortalDataset.id == dataset_id).values({col: col + amount}))

    before_commit(session, write)
