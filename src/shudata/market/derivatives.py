"""脱敏数据交易: desensitized derivative products made by the privacy engine.

From one of its products (or an entry it may use: a department's own entry, or its own upload),
a seller makes a derivative:

- ``kanon``: direct identifiers dropped (by default every column the detectors flag as personal that
  is not a quasi-identifier), then the optimal generalisation and suppression for k-anonymity over
  the quasi-identifiers the seller names (``privacy.service_models.anonymise_table``: built-in or
  ARX hierarchies, the lattice search of ``privacy.kanon``);
- ``mask``: the masking policy of a profile (``trade`` by default; the steward's saved policy for
  the entry when there is one), as the listing gate applies it.

The output is a new version of a custody entry (:mod:`.uploads`) and a draft product over that
version, whose ``derivation`` keeps the lineage and the measured risk::

    {"source": {product_id, product_code, product_name, resource, resource_id, name, version},
     "method": "kanon" | "mask", "parameters": {k, quasi_identifiers, suppression, hierarchies,
     levels, dropped | profile, policy, operators}, "risk": {prosecutor_max, prosecutor_avg,
     journalist_max, journalist_avg, marketer, unique_share, records_at_risk_share, rows, classes,
     threshold}, "risk_before": {...}, "source_personal": bool, "resource", "version",
     "created_at", "stale": bool, "stale_reason"}

The risk is measured on the output over the quasi-identifiers (``privacy.kanon.risk``: without a
population table journalist risk equals prosecutor risk, as ARX does); a record is *at risk* when
its prosecutor risk exceeds ``market_derivative_max_risk``. A derivative of personal data is
listed only when its highest risk is within that setting (``products.assess``), and the grade rule
holds (only grade A buys products holding personal data, desensitized or not).

When the source gets a new version the derivative is stale: the ``after_ingest`` hook marks it
(de-listing it when listed, with the reason), and ``products.derivative_stale`` compares versions
wherever it matters (listing, review, ordering), so a version written by any path is caught.
:func:`rebuild_derivative` makes it again from the newest version with the same parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, PermissionDenied
from shudata.core.plugins import hookimpl
from shudata.core.types import Actor
from shudata.lake.ingest.limits import too_large
from shudata.lake.models import LakeVersion
from shudata.lake.service import get_version, latest_version, version_files
from shudata.market import custody as U
from shudata.market import products as PR
from shudata.market.events import MarketEvent, emit
from shudata.market.gate import NOT_PERSONAL, _policy
from shudata.market.models import MarketParticipant, MarketProduct, MarketProductSource
from shudata.market.participants import acting_for
from shudata.market.schemas import DeliveryMode, ProductCreate, ProductRead, ProductSheet, ProfileName, SourceRef
from shudata.market.states import PRODUCTS, ProductEvent, ProductStatus
from shudata.privacy.detect.classify import about_persons
from shudata.privacy.kanon.hierarchy import Hierarchy
from shudata.privacy.kanon.risk import RiskSummary, risk_of_sizes
from shudata.privacy.mask import mask_source
from shudata.privacy.schemas import HierarchyChoice, KanonRequest
from shudata.privacy.service import plan_for
from shudata.privacy.service_models import anonymise_table
from shudata.privacy.sources import TABLE, engine, local_engine, sample_table
from shudata.query.engines.base import Limits, TableSource
from shudata.sharing.masking import version_findings

BATCH_ROWS = 65_536  # rows per batch the lake takes from a derivative
METHODS = {"kanon": ("k-匿名化", "k-anonymity"), "mask": ("脱敏策略", "masking policy")}


class DerivativeCreate(BaseModel):
    """A desensitized derivative of a product (``source_product_id``) or of an entry (``seller_id`` and
    ``resource``)."""

    model_config = ConfigDict(extra="forbid")

    source_product_id: int | None = Field(None, ge=1, description="源数据产品（卖方本主体的产品）")
    seller_id: int | None = Field(None, ge=1, description="不指定源产品时：代表的供方")
    resource: str | None = Field(None, max_length=64, description="源目录资源（源产品有多个来源时必填）")
    version: int | None = Field(None, ge=1, description="源数据版本；不填为最新版本")
    name: str = Field(min_length=2, max_length=200, description="衍生产品名称")
    method: Literal["kanon", "mask"] = Field("kanon", description="kanon：k-匿名化；mask：按脱敏策略")
    quasi_identifiers: list[str] = Field(min_length=1, max_length=12, description="准标识符（用于泛化和风险度量）")
    k: int = Field(5, ge=2, le=1000, description="k-匿名的 k")
    suppression: float = Field(0.05, ge=0, le=0.5, description="最多抑制的记录比例")
    hierarchies: dict[str, HierarchyChoice] = Field(default_factory=dict, description="准标识符 → 内置泛化层次")
    hierarchy_rows: dict[str, list[list[str]]] = Field(default_factory=dict, description="准标识符 → ARX 层次行")
    drop_columns: list[str] | None = Field(None, max_length=200,
                                           description="删除的直接标识符列；不填为检测到的个人信息列（准标识符除外）")
    profile: ProfileName = Field("trade", description="mask 方法使用的脱敏档位")
    delivery_modes: list[DeliveryMode] = Field(default_factory=lambda: ["api", "hosted"], min_length=1)  # type: ignore[arg-type]


def _bad(zh: str, en: str, *, code: str, **details: Any) -> InvalidInput:
    return InvalidInput(zh, en, code=code, details=details or None)


def _usable(session: Session, seller: MarketParticipant, res: CatalogResource) -> None:
    own = (seller.entity_type == "department" and res.provider_department_id == seller.department_id) or (
        U.is_custody(session, res) and U.owned_by(session, seller.id, res.id))
    if not own:
        raise PermissionDenied(f"目录资源 {res.code} 不属于本主体，不能据以生成衍生数据",
                               f"Entry {res.code} is not this seller's to derive from",
                               code="product_source_not_own", details={"resource": res.code})


def _source(session: Session, actor: Actor, data: DerivativeCreate
            ) -> tuple[MarketParticipant, MarketProduct | None, CatalogResource, LakeVersion]:
    sp: MarketProduct | None = None
    if data.source_product_id is not None:
        sp = PR.get_product_row(session, data.source_product_id)
        seller = acting_for(session, actor, sp.seller_id)
        links = session.scalars(select(MarketProductSource).where(MarketProductSource.product_id == sp.id)
                                .order_by(MarketProductSource.id)).all()
        pairs = [(session.get(CatalogResource, s.resource_id), s.version) for s in links]
        if data.resource:
            wanted = find_resource(session, data.resource)
            pairs = [(r, v) for r, v in pairs if r is not None and r.id == wanted.id]
        if len(pairs) != 1 or pairs[0][0] is None:
            raise _bad("源产品包含多个目录资源，请用 resource 指定其一" if len(pairs) > 1 else "源产品不包含该目录资源",
                       "Name one of the source product's entries (resource)", code="derive_source_ambiguous")
        res, pinned = pairs[0]
        if res is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("res is unexpectedly None")
        version = get_version(session, res.id, data.version or pinned)
    else:
        if data.seller_id is None or not data.resource:
            raise _bad("请指定源数据产品，或指定供方和目录资源", "Give a source product, or a seller and an entry",
                       code="derive_source_missing")
        seller = acting_for(session, actor, data.seller_id)
        res = find_resource(session, data.resource)
        _usable(session, seller, res)
        version = get_version(session, res.id, data.version)
    if "seller" not in seller.kinds:
        raise PermissionDenied(f"“{seller.name}”未登记为供方，不能发布数据产品", f"{seller.name} is not a seller",
                               code="participant_not_seller")
    return seller, sp, res, version


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _class_sizes(settings: Settings, source: TableSource, qis: list[str]) -> npt.NDArray[np.float64]:
    """Rows per combination of QI values, counted by the engine over the files (records whose QIs are
    all ``*`` left out, as :func:`shudata.privacy.kanon.risk.class_sizes` does): one number per class
    in memory, never the rows."""
    text = [f"CAST({_ident(q)} AS VARCHAR)" for q in qis]
    kept = " OR ".join(f"coalesce({t}, '') <> '*'" for t in text)
    sql = f"SELECT count(*) AS n FROM {TABLE} WHERE {kept} GROUP BY {', '.join(text)}"
    counts = local_engine(settings).query(sql, {TABLE: source}, Limits(timeout_s=3600))
    return np.asarray(counts.column("n").to_numpy(zero_copy_only=False), dtype=float)


def _risk(settings: Settings, source: TableSource, columns: list[str], rows: int, qis: list[str],
          threshold: float) -> dict[str, Any]:
    """The privacy package's risk summary over ``qis``, with the share of records at risk."""
    present = [q for q in qis if q in columns]
    if not present:
        return {"rows": rows, "classes": 0, "prosecutor_max": 0.0, "prosecutor_avg": 0.0,
                "journalist_max": 0.0, "journalist_avg": 0.0, "marketer": 0.0, "unique_share": 0.0,
                "records_at_risk_share": 0.0, "threshold": threshold, "quasi_identifiers": []}
    sizes = _class_sizes(settings, source, present)
    r: RiskSummary = risk_of_sizes(sizes)
    n = float(sizes.sum()) or 1.0
    at_risk = float(sizes[(1.0 / np.maximum(sizes, 1.0)) > threshold].sum()) / n if len(sizes) else 0.0
    return {"rows": r.rows, "classes": r.classes, "prosecutor_max": r.prosecutor_max,
            "prosecutor_avg": r.prosecutor_avg, "journalist_max": r.journalist_max,
            "journalist_avg": r.journalist_avg, "marketer": r.marketer, "unique_share": r.unique_share,
            "records_at_risk_share": round(at_risk, 6), "threshold": threshold, "quasi_identifiers": present}


@dataclass
class Derived:
    """A derivative made into a temporary Parquet file (``path``), written to the lake batch by batch."""

    path: Path
    schema: pa.Schema
    rows: int
    made: dict[str, Any]

    def batches(self) -> Iterator[pa.RecordBatch]:
        yield from pq.ParquetFile(self.path).iter_batches(batch_size=BATCH_ROWS)


def _tmp_path(settings: Settings) -> Path:
    folder = Path(settings.data_dir) / "tmp" / "market"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"derive-{uuid.uuid4().hex}.parquet"


def _kanon_fits(settings: Settings, version: LakeVersion, columns: int) -> None:
    """The lattice search holds the kept columns in memory: bounded by the ingest cell limit."""
    cells = int(version.rows or 0) * max(columns, 1)
    if cells > settings.upload_max_cells:
        raise too_large("derive_too_large",
                        f"k-匿名化需在内存中处理源数据的 {columns} 列 × {version.rows} 行 = {cells} 个单元格，"
                        f"超过上传上限 {settings.upload_max_cells}；"
                        "请减少保留的列（drop_columns）或改用 mask 方法（逐批处理）",
                        f"k-anonymisation holds {columns} columns × {version.rows} rows = {cells} cells in memory, "
                        f"above the upload limit {settings.upload_max_cells}; drop columns or use the mask method "
                        "(processed in batches)", setting="upload_max_cells", limit=settings.upload_max_cells,
                        found=cells)


def _kanon(settings: Settings, source: TableSource, version: LakeVersion, columns: list[str],
           findings: dict[str, str | None], qis: list[str], data: DerivativeCreate, dest: Path) -> dict[str, Any]:
    drop = data.drop_columns if data.drop_columns is not None else [
        c for c, e in findings.items() if e and e not in NOT_PERSONAL and c not in qis]
    unknown = [c for c in drop if c not in columns]
    if unknown or set(drop) & set(qis):
        wrong = "、".join(unknown or sorted(set(drop) & set(qis)))
        raise _bad(f"删除列有误：{wrong}（须为数据中的列，且不是准标识符）",
                   "drop_columns must be columns of the data and not quasi-identifiers", code="bad_drop_columns")
    keep = [c for c in columns if c not in drop]
    _kanon_fits(settings, version, len(keep))
    kept = local_engine(settings).query(f"SELECT {', '.join(_ident(c) for c in keep)} FROM {TABLE}",
                                        {TABLE: source}, Limits(timeout_s=3600))
    if not kept.num_rows:
        raise _bad("源数据没有行", "The source has no rows", code="derive_no_rows")
    req = KanonRequest(quasi_identifiers=qis, k=data.k, suppression=data.suppression,
                       builtin=data.hierarchies, hierarchies=data.hierarchy_rows)
    hs = {a: Hierarchy.from_rows(a, rows) for a, rows in data.hierarchy_rows.items()}
    done = anonymise_table(kept, req, hs)
    pq.write_table(done.table, dest)
    return {"k": data.k, "suppression": data.suppression, "dropped": drop, "levels": done.levels,
            "hierarchies": {q: (data.hierarchies[q].model_dump() if q in data.hierarchies else
                                {"kind": "arx"} if q in hs else {"kind": "auto"}) for q in qis},
            "hierarchy_rows": data.hierarchy_rows,
            "suppressed": done.result.optimum.suppressed if done.result.optimum else 0}


def _build(session: Session, settings: Settings, res: CatalogResource, version: LakeVersion,
           data: DerivativeCreate) -> Derived:
    """The derivative of ``version`` in a temporary file, and the derivation's method, parameters and risk.

    The ``mask`` method streams: the engine masks the files into the temporary file (DuckDB
    ``COPY``), the risk is counted by the engine, and the lake takes the file batch by batch.
    ``kanon`` holds the kept columns in memory for the lattice search, within the ingest cell
    limit. The temporary file is removed on any error (and by the caller once stored).
    """
    source = TableSource(TABLE, version_files(settings, version))
    schema = sample_table(settings, source, 1).schema
    columns = list(schema.names)
    qis = list(dict.fromkeys(q.strip() for q in data.quasi_identifiers if q.strip()))
    missing = [q for q in qis if q not in columns]
    if missing or not qis:
        raise _bad(f"准标识符列不存在：{'、'.join(missing) or '（空）'}；可用列：{'、'.join(columns)}",
                   f"Quasi-identifiers not in the data: {', '.join(missing)}", code="unknown_qi", missing=missing)
    findings = version_findings(session, settings, res, version, source)
    personal = bool(about_persons(findings.values())) or any(
        e not in NOT_PERSONAL for e in findings.values() if e)
    threshold = settings.market_derivative_max_risk
    params: dict[str, Any] = {"quasi_identifiers": qis}
    dest = _tmp_path(settings)
    try:
        if data.method == "kanon":
            params |= _kanon(settings, source, version, columns, findings, qis, data, dest)
        else:
            policy = _policy(session, res, data.profile)
            plan = plan_for(session, settings, policy, schema, findings, binding=res.code)
            mask_source(source, plan, dest, engine=engine(settings))
            params |= {"profile": data.profile, "policy": policy.name,
                       "operators": {c: op.name for c, op in plan.operators.items()}}
        meta = pq.ParquetFile(dest)
        out_schema, out_rows = meta.schema_arrow, meta.metadata.num_rows
        out = TableSource(TABLE, [dest])
        made = {"method": data.method, "parameters": params, "source_personal": personal,
                "risk": _risk(settings, out, list(out_schema.names), out_rows, qis, threshold),
                "risk_before": _risk(settings, source, columns, int(version.rows or 0), qis, threshold)}
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return Derived(path=dest, schema=out_schema, rows=out_rows, made=made)


def _items(schema: pa.Schema) -> list[dict[str, Any]]:
    def kind(t: pa.DataType) -> str:
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            return "N"
        if pa.types.is_date(t):
            return "D"
        if pa.types.is_timestamp(t):
            return "T"
        if pa.types.is_boolean(t):
            return "L"
        return "C"
    return [{"name": f.name, "data_type": kind(f.type), "length": None, "description": None} for f in schema]


def _store(session: Session, settings: Settings, res: CatalogResource, derived: Derived, label: str) -> LakeVersion:
    """Write the derivative as the next version of the custody entry, batch by batch (atomic: a
    failure part-way leaves no version and no file), then drop the temporary file."""
    try:
        if not res.information_items:
            res.information_items = _items(derived.schema)
        return write_version(session=session, settings=settings, actor=Actor.system(), resource=res,
                             batches_or_table=derived.batches(), schema=derived.schema, source_name=label[:255],
                             source_format="parquet", comment="脱敏衍生数据")
    finally:
        derived.path.unlink(missing_ok=True)


def _lineage(sp: MarketProduct | None, res: CatalogResource, version: LakeVersion) -> dict[str, Any]:
    return {"product_id": sp.id if sp else None, "product_code": sp.code if sp else None,
            "product_name": sp.name if sp else None, "resource": res.code, "resource_id": res.id, "name": res.name,
            "version": version.version}


def create_derivative(*, session: Session, actor: Actor, settings: Settings, data: DerivativeCreate) -> ProductRead:
    """Make the derivative, store it as a custody entry's version and wrap it in a draft product."""
    seller, sp, res, version = _source(session, actor, data)
    derived = _build(session, settings, res, version, data)
    made = derived.made
    what = METHODS[data.method][0]
    try:
        entry = U.register_custody_entry(session, seller, data.name,
                                         f"{res.name}（{res.code} v{version.version}）的{what}衍生数据", U.DERIVED_TAG)
    except BaseException:
        derived.path.unlink(missing_ok=True)
        raise
    stored = _store(session, settings, entry, derived, f"{res.code}-v{version.version}-{data.method}.parquet")
    derivation = {"source": _lineage(sp, res, version), **made, "resource": entry.code, "version": stored.version,
                  "created_at": utcnow().isoformat(), "stale": False}
    detail = f"k={data.k}" if data.method == "kanon" else f"档位 {data.profile}"
    sheet = ProductSheet(
        content=f"由“{sp.name if sp else res.name}”经{what}（{detail}）生成的脱敏衍生数据，{stored.rows} 行"[:4000],
        coverage=(sp.sheet.get("coverage", "") if sp else "")[:1000],
        update_cycle=(sp.sheet.get("update_cycle", "") if sp else "")[:100],
        scenarios=list(sp.sheet.get("scenarios", []) if sp else [])[:50],
        restrictions=(sp.sheet.get("restrictions", "") if sp else "")[:2000])
    create = ProductCreate(
        seller_id=seller.id, name=data.name, category=(sp.category if sp else "")[:100],
        sources=[SourceRef(resource=entry.code, version=stored.version)], sheet=sheet,
        delivery_modes=data.delivery_modes, masking_profile=sp.masking_profile if sp else "trade",
        rights=list(sp.rights) if sp else ["holding", "operating"],
        source_evidence=(sp.source_evidence if sp else "")[:4000],
        personal_authorisation=sp.personal_authorisation if sp else None)
    product = PR.create_with(session=session, actor=actor, seller=seller, data=create, adopt={entry.id},
                             derivation=derivation)
    _audit(session, actor, product.id, derivation, rebuilt=False)
    return product


def _audit(session: Session, actor: Actor, product_id: int, d: dict[str, Any], *, rebuilt: bool) -> None:
    p = PR.get_product_row(session, product_id)
    details = {"source": d["source"], "method": d["method"], "risk": d["risk"], "resource": d["resource"],
               "version": d["version"], "rebuilt": rebuilt,
               "parameters": {k: v for k, v in d["parameters"].items() if k != "hierarchy_rows"}}
    record(session, actor, events.MarketDerivativeCreate(resource_id=p.code, details=details))
    emit(session, MarketEvent(kind="product.derive", subject=f"product:{p.code}", actor=actor.username,
                              data={"product_id": p.id, "seller_id": p.seller_id, **details}, at=utcnow()))


def rebuild_derivative(*, session: Session, actor: Actor, settings: Settings, product_id: int) -> ProductRead:
    """Make a derivative again from the newest version of its source, with the same parameters (a
    draft, refused or de-listed product; re-listing is a new submission)."""
    p = PR.get_product_row(session, product_id)
    acting_for(session, actor, p.seller_id)
    d = dict(p.derivation or {})
    if not d:
        raise _bad(f"数据产品 {p.code} 不是脱敏衍生产品", f"Product {p.code} is not a derivative",
                   code="not_derivative")
    if p.status not in PR.EDITABLE:
        raise Conflict(f"产品当前状态为“{p.status}”，审核中或已挂牌的产品不能重建（请先摘牌）",
                       f"A product that is {p.status} cannot be rebuilt (de-list it first)", code="product_locked")
    src = d["source"]
    res = session.get(CatalogResource, int(src["resource_id"]))
    if res is None or res.is_deleted:
        raise Conflict(f"源数据 {src['resource']} 已删除，不能重建", "The source entry is gone",
                       code="derive_source_gone")
    version = latest_version(session, res.id)
    if version is None:
        raise Conflict(f"源数据 {res.code} 没有数据版本", "The source has no version", code="derive_source_empty")
    params = d["parameters"]
    data = DerivativeCreate(
        name=p.name, method=d["method"], quasi_identifiers=params["quasi_identifiers"], k=params.get("k", 5),
        suppression=params.get("suppression", 0.05), drop_columns=params.get("dropped"),
        hierarchies={q: HierarchyChoice.model_validate(h) for q, h in (params.get("hierarchies") or {}).items()
                     if h.get("kind") not in ("arx",)},
        hierarchy_rows=params.get("hierarchy_rows") or {}, profile=params.get("profile", "trade"))
    entry = find_resource(session, d["resource"])
    derived = _build(session, settings, res, version, data)
    made = derived.made
    stored = _store(session, settings, entry, derived, f"{res.code}-v{version.version}-{data.method}.parquet")
    link = session.scalar(select(MarketProductSource).where(MarketProductSource.product_id == p.id,
                                                            MarketProductSource.resource_id == entry.id))
    if link is not None:
        link.version = stored.version
    before = p.status
    p.derivation = {**d, **made, "source": {**src, "version": version.version}, "version": stored.version,
                    "created_at": utcnow().isoformat(), "stale": False, "stale_reason": None}
    p.updated_at = utcnow()
    PR._log(session, actor, p, "rebuild", before, reason=f"依据源数据 v{version.version} 重建")
    _audit(session, actor, p.id, p.derivation, rebuilt=True)
    return PR.read_product(session, p)


@hookimpl(specname="after_ingest")
def mark_stale(run: Any) -> None:
    """A new version of an entry: every derivative of it is stale (a listed one is de-listed)."""
    if run.version is None:
        return
    session: Session = run.session
    ids = [pid for pid, d in session.execute(select(MarketProduct.id, MarketProduct.derivation))
           if d and (d.get("source") or {}).get("resource_id") == run.resource.id and not d.get("stale")]
    for pid in ids:
        p = PR.get_product_row(session, pid)
        d = p.derivation or {}
        reason = PR.derivative_stale(session, p)
        if reason is None:
            continue
        before = p.status
        p.derivation = {**d, "stale": True, "stale_reason": reason, "stale_at": utcnow().isoformat()}
        if p.status == ProductStatus.LISTED:
            p.status = PRODUCTS.next(p.status, ProductEvent.DELIST)
            PR._log(session, run.actor, p, "delist", before, reason=reason)
        record(session, run.actor, events.MarketDerivativeStale(resource_id=p.code, details={
            "reason": reason, "from": before, "to": p.status, "source_version": run.version.version}))
        emit(session, MarketEvent(kind="product.stale", subject=f"product:{p.code}", actor=run.actor.username,
                                  data={"product_id": p.id, "seller_id": p.seller_id, "status": p.status,
                                        "reason": reason}, at=utcnow()))
