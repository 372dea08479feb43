"""Delivery use cases of the market: the buyer's fingerprinted file, hosted jobs, tracing a found file.

Every exit reads the entitlement's delivered view of the product's source version — the same
machinery as sharing grants: the entitlement's fields and row filter and the masking profile
(``trade`` by default) become a :class:`~shudata.query.access.TableAccess` through
:func:`shudata.sharing.masking.masking_for`, written once per (entitlement terms, version) as a
masked Parquet file that offline files and hosted jobs read. Nothing personal leaves unmasked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import pyarrow as pa
from pydantic import BaseModel, ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, object_session

from shudata.audit import events
from shudata.audit.ledger import record, record_separately
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from shudata.core.types import Actor, ResourceRef
from shudata.lake.ingest.limits import ReadLimits, too_large
from shudata.lake.models import LakeVersion
from shudata.lake.reader import layout, read_page
from shudata.lake.service import get_version, version_files
from shudata.market import actions as A
from shudata.market.delivery.fingerprint import FingerprintSpec
from shudata.market.delivery.hosted import HostedRefused, HostedResult, ReleaseRules, run_hosted
from shudata.market.delivery.leaked import read_leaked
from shudata.market.delivery.models import MarketEntitlement, MarketFileDelivery, MarketHostedJob, MarketTrace
from shudata.market.delivery.offline import fingerprinted_file
from shudata.market.delivery.trace import decide, observe
from shudata.market.events import MarketEvent, emit
from shudata.market.models import MarketOrder, MarketParticipant, MarketProduct, MarketProductSource
from shudata.market.participants import acting_for
from shudata.market.states import OrderStatus
from shudata.privacy import keys as key_ring
from shudata.privacy.service_models import charge as dp_charge
from shudata.query.access import TableAccess, access_subquery
from shudata.query.engines.base import Limits, TableSource
from shudata.query.service import local_engine
from shudata.security.authz import require
from shudata.security.crypto.sm3 import sm3_hex
from shudata.sharing.filters import combine, validate_row_filter
from shudata.sharing.locks import KeyedLocks
from shudata.sharing.masking import masking_for, masking_state, version_findings

_BUILDING = KeyedLocks()
S = TypeVar("S", bound=BaseModel)


def fingerprint_key(session: Session, settings: Settings, product_id: int, actor: str) -> tuple[str, bytes]:
    """The product's fingerprint secret: a managed key (wrapped under the master key), made once."""
    key_id = f"market-fp-{product_id}"
    if key_id not in key_ring.active_ids(session):
        key_ring.create(session, settings, key_id, "market.fingerprint", actor)
    return key_id, key_ring.load(session, settings, [key_id])[key_id]


@dataclass(frozen=True)
class EntitledView:
    entitlement: MarketEntitlement
    resource: CatalogResource
    version: LakeVersion
    path: Path  # the masked view as one Parquet file
    findings: Mapping[str, str | None]  # column → entity type the detectors found in the source version


def _entitlement(session: Session, entitlement_id: int) -> MarketEntitlement:
    ent = session.get(MarketEntitlement, entitlement_id)
    if ent is None:
        raise NotFound(f"交付授权 {entitlement_id} 不存在", f"Entitlement {entitlement_id} not found",
                       code="entitlement_not_found")
    return ent


def usable_entitlement(session: Session, actor: Actor, entitlement_id: int) -> MarketEntitlement:
    """The buyer's entitlement, checked: the actor acts for the buyer; not revoked or expired."""
    ent = _entitlement(session, entitlement_id)
    acting_for(session, actor, ent.buyer_id)
    now = utcnow()
    if ent.revoked_at is not None or ent.expires_at <= now:
        why = "已撤销" if ent.revoked_at is not None else f"已于 {ent.expires_at:%Y-%m-%d} 到期"
        raise PermissionDenied(f"交付授权{why}，不能再获取数据", "The entitlement is revoked or expired",
                               code="entitlement_expired", details={"entitlement_id": ent.id})
    order = session.get(MarketOrder, ent.order_id)
    if order is not None and order.status in ORDER_ENDED:
        raise PermissionDenied(f"订单 {order.code} 已{ORDER_ENDED[order.status]}，不能再获取数据",
                               f"Order {order.code} is {order.status}: nothing is delivered",
                               code="order_not_delivering", details={"entitlement_id": ent.id})
    return ent


# Orders whose entitlement delivers nothing any more, whatever its expiry.
ORDER_ENDED: dict[str, str] = {OrderStatus.REFUSED: "拒绝", OrderStatus.TERMINATED: "终止",
                               OrderStatus.REFUNDED: "退款"}


def check_quota(ent: MarketEntitlement, *, rows: int) -> None:
    """429 when one more call, or ``rows`` more rows, would pass the entitlement's quota."""
    if ent.quota_calls is not None and ent.calls_used + 1 > ent.quota_calls:
        raise LimitExceeded(f"调用次数已达购买的上限 {ent.quota_calls} 次", "The entitlement's call quota is used up",
                            code="entitlement_call_quota", details={"entitlement_id": ent.id})
    if ent.quota_rows is not None and ent.rows_used + rows > ent.quota_rows:
        raise LimitExceeded(f"获取行数将超过购买的上限 {ent.quota_rows} 行（已用 {ent.rows_used} 行）",
                            "The entitlement's row quota would be exceeded", code="entitlement_row_quota",
                            details={"entitlement_id": ent.id, "used": ent.rows_used, "quota": ent.quota_rows})


def charge(ent: MarketEntitlement, *, rows: int) -> None:
    """Count one call and ``rows`` rows against the entitlement; 429 when its quota would pass.

    The count is one conditional ``UPDATE`` (``used = used + n`` where the quota still allows it),
    so concurrent calls of one buyer neither lose a count (metered plans bill from it) nor pass
    the quota together: on PostgreSQL the second waits for the first's row lock and re-checks."""
    check_quota(ent, rows=rows)
    session = object_session(ent)
    if session is None or ent.id is None:  # not stored (yet): nothing to race with
        ent.calls_used += 1
        ent.rows_used += rows
        return
    t = MarketEntitlement
    done = session.execute(
        update(t).where(t.id == ent.id, or_(t.quota_calls.is_(None), t.calls_used + 1 <= t.quota_calls),
                        or_(t.quota_rows.is_(None), t.rows_used + rows <= t.quota_rows))
        .values(calls_used=t.calls_used + 1, rows_used=t.rows_used + rows)
        .execution_options(synchronize_session=False))
    session.refresh(ent, ["calls_used", "rows_used"])
    if getattr(done, "rowcount", 1) == 0:  # another call used the quota in the meantime
        check_quota(ent, rows=rows)


def entitled_view(session: Session, settings: Settings, ent: MarketEntitlement, *,
                  source: MarketProductSource | None = None, number: int | None = None) -> EntitledView:
    """The entitlement's masked view of a source version of the product, as a Parquet file: by default
    the product's first source at its pinned (else latest) version; Delta Sharing names the
    ``source`` and version ``number`` of each table it serves."""
    src = source or session.scalar(select(MarketProductSource).where(
        MarketProductSource.product_id == ent.product_id).order_by(MarketProductSource.id).limit(1))
    if src is None:
        raise InvalidInput("该数据产品没有关联数据资源，无法交付", "The product has no source data",
                           code="product_no_source")
    resource = session.get(CatalogResource, src.resource_id)
    if resource is None:
        raise NotFound("数据产品的数据资源不存在", "The product's resource is missing", code="resource_not_found")
    version = get_version(session, resource.id, src.version if number is None else number)
    table = TableSource(name="product", files=version_files(settings, version))
    schema = layout(table.files).schema
    masking = masking_for(session, settings, resource, version, table, schema, ent.masking_profile)
    fields = [f for f in (ent.fields or schema.names) if f in schema.names]
    if not fields:
        raise InvalidInput("购买的字段在该数据版本中都不存在", "None of the bought fields exist in this version",
                           code="no_granted_fields")
    row_filter = validate_row_filter(ent.row_filter, schema.names) if ent.row_filter else None
    access = TableAccess(columns=tuple(fields), row_filter=combine([row_filter]),
                         column_exprs={c: e for c, e in masking.column_exprs.items() if c in fields})
    sql = access_subquery("product", schema.names, access).sql("duckdb")
    state = sm3_hex(json.dumps([ent.id, resource.id, version.version, sql, masking_state(session, resource, version,
                                                                              ent.masking_profile)]).encode())
    path = settings.data_dir / "market" / "delivery" / f"e{ent.id}" / f"v{version.version}-{state[:16]}.parquet"
    if not path.exists():
        with _BUILDING.hold(path):
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
                try:
                    local_engine(settings).with_udfs(masking.udfs).copy_to_parquet(  # type: ignore[attr-defined]
                        f"SELECT * FROM ({sql}) AS g", {"product": table}, tmp,
                        Limits(timeout_s=max(settings.query_timeout_s, 600)))
                    tmp.replace(path)
                finally:
                    tmp.unlink(missing_ok=True)
    findings = version_findings(session, settings, resource, version, table)
    return EntitledView(entitlement=ent, resource=resource, version=version, path=path, findings=findings)


def buyer_label(ent: MarketEntitlement) -> str:
    """The name of the buyer's code word: one per entitlement (order), so a trace names the order."""
    return f"entitlement:{ent.id}"


@dataclass(frozen=True)
class DeliveredFile:
    file: IO[bytes]
    filename: str
    rows: int
    sha256: str


def deliver_file(*, session: Session, settings: Settings, actor: Actor, entitlement_id: int,
                 fmt: str = "csv") -> DeliveredFile:
    """The buyer's fingerprinted copy (离线交付) of the entitlement's masked view in ``fmt``."""
    if fmt not in ("csv", "xlsx", "parquet"):
        raise InvalidInput("文件格式只能是 csv、xlsx 或 parquet", "Format must be csv, xlsx or parquet",
                           code="bad_format")
    ent = usable_entitlement(session, actor, entitlement_id)
    if ent.delivery_mode != "file":
        raise InvalidInput("该交付授权不是离线文件交付", "This entitlement is not a file delivery",
                           code="not_file_delivery")
    if not ent.fingerprint:
        raise InvalidInput("该交付授权不含离线文件交付（卖方未设置指纹）",
                           "This entitlement has no offline file delivery", code="no_offline_delivery")
    spec = _settings(FingerprintSpec, ent.fingerprint)
    if isinstance(spec, str):  # the seller's to fix: 422 with the reason, never a crash of the delivery
        raise InvalidInput(f"数据产品的指纹设置无效（{spec}），请卖方在产品说明书中修正",
                           f"The product's fingerprint settings are invalid: {spec}", code="bad_fingerprint_settings")
    view = entitled_view(session, settings, ent)
    rows = layout([view.path]).total
    charge(ent, rows=rows)
    key_id, secret = fingerprint_key(session, settings, ent.product_id, actor.username)
    out = fingerprinted_file(view.path, fmt, spec, secret=secret, buyer=buyer_label(ent), sheet=view.resource.name)
    digest = hashlib.sha256()
    while chunk := out.read(1 << 20):
        digest.update(chunk)
    out.seek(0)
    session.add(MarketFileDelivery(product_id=ent.product_id, entitlement_id=ent.id, buyer_id=ent.buyer_id,
                                   buyer_label=buyer_label(ent), resource_id=view.resource.id,
                                   version=view.version.version, key_id=key_id, spec=spec.model_dump(mode="json"),
                                   format=fmt, rows=rows, sha256=digest.hexdigest(), created_by=actor.username))
    record(session, actor, events.MarketDeliveryFile(resource_id=_product_code(session, ent.product_id), details={
        "entitlement": ent.id, "format": fmt, "rows": rows, "sha256": digest.hexdigest(),
        "code_word": buyer_label(ent), "version": view.version.version}))
    emit(session, MarketEvent(kind="delivery.file", subject=f"entitlement:{ent.id}", actor=actor.username, data={
        "product_id": ent.product_id, "format": fmt, "rows": rows, "sha256": digest.hexdigest()}))
    session.flush()
    return DeliveredFile(file=out, filename=f"{view.resource.name}_v{view.version.version}.{fmt}", rows=rows,
                         sha256=digest.hexdigest())


def _settings(model: type[S], value: Any) -> S | str:
    """The seller's settings (from the product sheet) as their model, or why they are invalid."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        return "；".join(f"{'.'.join(map(str, e['loc'])) or '整体'}：{e['msg']}" for e in exc.errors()[:3])


def fetch_rows(*, session: Session, settings: Settings, actor: Actor, entitlement_id: int, offset: int = 0,
               limit: int = 1000) -> tuple[pa.Table, int, int]:
    """One page of the entitlement's masked view (在线交付, API), the total and the source version; every
    page counts one call and its rows against the entitlement (metered plans are billed from these counts)."""
    ent = usable_entitlement(session, actor, entitlement_id)
    if ent.delivery_mode != "api":
        raise InvalidInput("该交付授权不是在线接口交付", "This entitlement is not an API delivery",
                           code="not_api_delivery")
    view = entitled_view(session, settings, ent)
    limit = max(1, min(limit, settings.page_size_max))
    total = layout([view.path]).total
    rows = max(0, min(limit, total - max(0, offset)))
    charge(ent, rows=rows)
    page, total = read_page([view.path], max(0, offset), limit)
    emit(session, MarketEvent(kind="delivery.api", subject=f"entitlement:{ent.id}", actor=actor.username,
                              data={"product_id": ent.product_id, "offset": offset, "rows": page.num_rows}))
    session.flush()
    return page, total, view.version.version


def run_job(*, session: Session, settings: Settings, actor: Actor, entitlement_id: int, sql: str) -> HostedResult:
    """A hosted job (托管): released when it passes the seller's rules, refused (and logged) otherwise."""
    ent = usable_entitlement(session, actor, entitlement_id)
    if ent.delivery_mode != "hosted":
        raise InvalidInput("该交付授权不是托管交付", "This entitlement is not a hosted delivery", code="not_hosted")
    rules = _settings(ReleaseRules, ent.release_rules or {})
    if isinstance(rules, str):
        raise InvalidInput(f"数据产品的托管发布规则无效（{rules}），请卖方在产品说明书中修正",
                           f"The product's release rules are invalid: {rules}", code="bad_release_rules")
    view = entitled_view(session, settings, ent)
    job = MarketHostedJob(entitlement_id=ent.id, product_id=ent.product_id, buyer_id=ent.buyer_id, sql=sql,
                          status="refused", groups=0, created_by=actor.username)
    code = _product_code(session, ent.product_id)
    if ent.quota_calls is not None and ent.calls_used >= ent.quota_calls:
        charge(ent, rows=0)  # raises: the quota is used up
    try:
        result = run_hosted(sql, table="product", source=TableSource(name="hosted", files=[view.path]),
                            columns=tuple(layout([view.path]).schema.names), rules=rules,
                            engine=local_engine(settings),
                            limits=Limits(timeout_s=settings.query_timeout_s, max_rows=settings.query_max_rows),
                            findings=view.findings)
    except HostedRefused as exc:
        job.rule, job.reason = str(exc.details.get("rule")), exc.zh
        _keep_refused(session, actor, job, code)
        raise
    charge(ent, rows=0)
    if result.epsilon is not None:  # the buyer's differential-privacy budget pays before anything is released
        dp_charge(session, actor, result.epsilon, "laplace", f"托管计算 {code}：{sql[:500]}")
    job.status, job.groups, job.epsilon = "released", result.groups, result.epsilon
    session.add(job)
    record(session, actor, events.MarketDeliveryHosted(resource_id=code, details={
        "entitlement": ent.id, "status": "released", "groups": result.groups, "epsilon": result.epsilon}))
    emit(session, MarketEvent(kind="delivery.hosted", subject=f"entitlement:{ent.id}", actor=actor.username,
                              data={"product_id": ent.product_id, "groups": result.groups, "epsilon": result.epsilon,
                                    "sql_sm3": sm3_hex(sql.encode())}))
    session.flush()
    return result


def _keep_refused(session: Session, actor: Actor, job: MarketHostedJob, code: str | None) -> None:
    """A refused job is logged in its own transaction (the caller's is rolled back by the refusal);
    it does not count against the quota."""
    bind = session.get_bind()
    engine = bind.engine  # Engine.engine is the engine itself; a Connection's is its engine
    with Session(engine) as own, own.begin():
        own.add(MarketHostedJob(entitlement_id=job.entitlement_id, product_id=job.product_id, buyer_id=job.buyer_id,
                                sql=job.sql, status="refused", rule=job.rule, reason=job.reason,
                                groups=0, created_by=job.created_by))
    record_separately(engine, actor, events.MarketDeliveryHosted(
        resource_id=code, outcome="rejected", details={"entitlement": job.entitlement_id, "status": "refused",
                                                      "rule": job.rule, "reason": job.reason}))


def _product_code(session: Session, product_id: int) -> str | None:
    product = session.get(MarketProduct, product_id)
    return product.code if product is not None else None


def _candidates(session: Session, product_id: int | None) -> dict[int, list[MarketFileDelivery]]:
    query = select(MarketFileDelivery).order_by(MarketFileDelivery.id)
    if product_id is not None:
        query = query.where(MarketFileDelivery.product_id == product_id)
    by_product: dict[int, list[MarketFileDelivery]] = {}
    for row in session.scalars(query):
        by_product.setdefault(row.product_id, []).append(row)
    return by_product


def trace_file(*, session: Session, settings: Settings, actor: Actor, content: bytes, filename: str,
               product_code: str | None = None) -> dict[str, Any]:
    """Who received the file ``content`` (溯源): the verdict per product whose key columns it holds;
    the best match first. Recorded with the file's SHA-256 either way."""
    require(actor, A.ORDER_ARBITRATE, ResourceRef("market_trace", None))
    if len(content) > settings.max_upload_bytes:
        raise too_large("payload_too_large", f"文件超过 {settings.max_upload_mb} MB 的上传上限",
                        f"The file is larger than the upload limit of {settings.max_upload_mb} MB",
                        setting="max_upload_mb", limit=settings.max_upload_bytes, found=len(content))
    table = read_leaked(io.BytesIO(content), filename, ReadLimits.from_settings(settings))
    product_id = None
    if product_code is not None:
        product = session.scalar(select(MarketProduct).where(MarketProduct.code == product_code))
        if product is None:
            raise NotFound(f"数据产品“{product_code}”不存在", f"Product {product_code!r} not found",
                           code="product_not_found")
        product_id = product.id
    best: dict[str, Any] = {"matched": False, "product_id": product_id, "accused": [], "positions": 0,
                            "message": "无匹配：没有找到与该文件对应的指纹交付"}
    for pid, rows in _candidates(session, product_id).items():
        verdict = _trace_product(session, settings, table, rows)
        if verdict is not None and (verdict["matched"] or verdict["positions"] > best["positions"]) \
                and not best["matched"]:
            best = {**verdict, "product_id": pid}
    sha = hashlib.sha256(content).hexdigest()
    session.add(MarketTrace(filename=filename[:255], sha256=sha, product_id=best["product_id"],
                            matched=best["matched"], result=best, created_by=actor.username))
    record(session, actor, events.MarketDeliveryTrace(
        resource_id=_product_code(session, best["product_id"]) if best["product_id"] else None,
        details={"file": filename[:255], "sha256": sha, "matched": best["matched"],
                 "accused": [a["buyer"] for a in best["accused"]]}))
    emit(session, MarketEvent(kind="delivery.trace", subject=f"file:{sha[:16]}", actor=actor.username, data={
        "product_id": best["product_id"], "matched": best["matched"],
        "accused": [a["buyer"] for a in best["accused"]]}))
    session.flush()
    return best


def _trace_product(session: Session, settings: Settings, table: Any, rows: list[MarketFileDelivery]
                   ) -> dict[str, Any] | None:
    specs: dict[str, list[MarketFileDelivery]] = {}
    for row in rows:
        specs.setdefault(json.dumps(row.spec, sort_keys=True), []).append(row)
    best: dict[str, Any] | None = None
    for text, group in specs.items():
        spec = FingerprintSpec.model_validate(json.loads(text))
        if not all(k in table.column_names for k in spec.key_columns):
            continue
        secret = key_ring.load(session, settings, [group[0].key_id])[group[0].key_id]
        labels = sorted({r.buyer_label for r in group})
        verdict = decide(observe(table, spec, secret), spec, secret, labels)
        buyers = {r.buyer_label: r.buyer_id for r in group}
        found = {"matched": verdict.matched, "positions": verdict.positions,
                 "threshold": round(verdict.threshold, 2), "bound": verdict.bound, "candidates": len(labels),
                 "accused": [{"buyer": s.buyer, "buyer_id": buyers.get(s.buyer), "score": round(s.score, 2),
                              "confidence": s.confidence, **_who(session, group, s.buyer)}
                             for s in verdict.accused],
                 "message": "找到泄露来源" if verdict.matched else
                 ("无匹配：" + ("；".join(verdict.notes) or "没有买方的得分超过判定阈值"))}
        if best is None or found["matched"] or found["positions"] > best["positions"]:
            best = found
            if found["matched"]:
                break
    return best


def _who(session: Session, rows: list[MarketFileDelivery], label: str) -> dict[str, Any]:
    """The participant's name and the order behind a code word, for the operator reading a verdict."""
    row = next((r for r in rows if r.buyer_label == label), None)
    ent = session.get(MarketEntitlement, row.entitlement_id) if row is not None and row.entitlement_id else None
    order = session.get(MarketOrder, ent.order_id) if ent is not None else None
    buyer = session.get(MarketParticipant, row.buyer_id) if row is not None and row.buyer_id else None
    return {"participant": buyer.name if buyer is not None else None,
            "order": order.code if order is not None else None,
            "delivered_at": row.created_at.isoformat() if row is not None else None}


def open_entitlement(session: Session, order: Any, *, fields: list[str] | None = None,
                     release_rules: dict[str, Any] | None = None,
                     fingerprint: dict[str, Any] | None = None) -> MarketEntitlement:
    """The entitlement of an order entering ``delivering`` (made once; a second call returns it)."""
    found = session.scalar(select(MarketEntitlement).where(MarketEntitlement.order_id == order.id))
    if found is not None:
        return found
    product = session.get(MarketProduct, order.product_id)
    if product is None:
        raise NotFound("订单的数据产品不存在", "The order's product is missing", code="product_not_found")
    sheet = product.sheet or {}
    ent = MarketEntitlement(
        order_id=order.id, product_id=order.product_id, buyer_id=order.buyer_id, delivery_mode=order.delivery_mode,
        fields=list(fields or sheet.get("fields_delivered") or []), masking_profile=product.masking_profile,
        expires_at=utcnow() + dt.timedelta(days=int(order.term_days or 365)),
        release_rules=release_rules if release_rules is not None else dict(sheet.get("release_rules") or {}),
        fingerprint=fingerprint if fingerprint is not None else sheet.get("fingerprint"),
        calls_used=0, rows_used=0, metered=False)
    session.add(ent)
    session.flush()
    emit(session, MarketEvent(kind="delivery.entitle", subject=f"order:{order.code}", actor="system", data={
        "entitlement": ent.id, "mode": ent.delivery_mode, "expires_at": ent.expires_at.isoformat()}))
    return ent
