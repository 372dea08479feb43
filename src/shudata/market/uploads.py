"""供方自有数据上传: an approved enterprise seller uploads its own data and wraps it in a product.

Where the data live (托管区). A participant is not a department, and the catalog owns every lake
resource through a department (``provider_department_id``). Seller uploads therefore go to one
department the exchange holds for them, 数据交易所供方数据托管区 (created on the first upload,
:func:`custody_department`), as ordinary catalog entries — 不予共享, 不予开放, tagged
``market-upload`` — versioned like any entry. The entry's owner inside the market is the seller
of the product wrapping it: an upload creates the entry and the product in one step, and only
that seller's members may add versions, derive from it or read its raw rows. Nobody is a
steward or user of the custody department, so the catalog's own rule (raw rows for the provider
department's staff only) leaves everyone else out, the platform admin included; the exchange's
review sees the product's masked sample and the detectors' findings, never the raw rows.

The platform writes into the custody area as itself (``Actor.system()``: the lake version's
``created_by`` is ``system``), after this module has checked that the actor acts for the seller;
who uploaded is the audit event ``market.upload.create`` / ``market.upload.version`` and the
ledger event ``product.upload``, both under the member's name.

Each file goes through the lake's ingest (formats, encodings by charset-normalizer, size, column
and cell limits, XLSX bombs: the same 4xx as any upload), and the privacy detectors scan the new
version at once (a saved scan report, which the listing gate then uses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, PermissionDenied
from shudata.core.types import Actor
from shudata.jobs import ingest as ING
from shudata.lake.ingest.plan import propose_items
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.models import LakeVersion
from shudata.lake.service import get_version, list_versions, version_files
from shudata.market import actions as A
from shudata.market import products as PR
from shudata.market.custody import UPLOAD_TAG, is_custody, register_custody_entry
from shudata.market.events import MarketEvent, emit
from shudata.market.models import MarketParticipant, MarketProduct, MarketProductSource
from shudata.market.participants import acting_for
from shudata.market.schemas import ProductCreate, ProductRead, ProductSheet, SourceRef
from shudata.privacy.models import PrivacyScanReport
from shudata.privacy.service import scan_resource
from shudata.privacy.sources import engine
from shudata.query.engines.base import Limits, TableSource
from shudata.security.authz import allowed

ITEM_NAME_MAX = 100  # an information item's name (catalog schema)
RAW_ROWS = 20


def _adopt_items(run: ING.IngestRun) -> None:
    """The first version of a custody entry gives it its information items (later ones must match)."""
    if run.info is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("run.info is unexpectedly None")
    long = [c for c in run.info.columns if len(str(c)) > ITEM_NAME_MAX]
    if long:
        raise InvalidInput(f"列名超过 {ITEM_NAME_MAX} 个字符：{str(long[0])[:40]}…；请改短列名后上传",
                           f"A column name is longer than {ITEM_NAME_MAX} characters; shorten it",
                           code="column_name_too_long", details={"limit": ITEM_NAME_MAX})
    if not run.resource.information_items:
        run.resource.information_items = propose_items(run.info)


STEPS = (ING.inspect, ING.check_columns, _adopt_items, *ING.STEPS[2:], ING.after_ingest)


def _ingest(session: Session, settings: Settings, res: CatalogResource, path: Path, filename: str,
            sha256: str | None, options: IngestOptions | None) -> tuple[LakeVersion, dict[str, str]]:
    version = ING.ingest_file(session=session, settings=settings, actor=Actor.system(), resource_code=res.code,
                              path=path, options=options, source_name=filename,
                              sha256=sha256 or ING.sha256_file(Path(path)), steps=STEPS)
    report = scan_resource(session=session, actor=Actor.system(), settings=settings, resource=res.code,
                           version=version.version)
    findings = {c.column: c.entity for c in report.columns if c.entity}
    return version, findings


def _seller(session: Session, actor: Actor, seller_id: int) -> MarketParticipant:
    seller = acting_for(session, actor, seller_id)
    if "seller" not in seller.kinds:
        raise PermissionDenied(f"“{seller.name}”未登记为供方，不能上传数据产品", f"{seller.name} is not a seller",
                               code="participant_not_seller")
    if seller.entity_type == "department":
        raise InvalidInput("部门（授权运营）请把数据上传到本部门的目录条目，再以条目组成数据产品",
                           "A department uploads to its own catalog entries and wraps them in products",
                           code="upload_department_use_catalog")
    return seller


def _details(res: CatalogResource, version: LakeVersion, filename: str, findings: dict[str, str]) -> dict[str, Any]:
    return {"resource": res.code, "version": version.version, "rows": version.rows, "filename": filename,
            "sha256": version.source_sha256, "findings": findings}


def upload_product(*, session: Session, actor: Actor, settings: Settings, seller_id: int, name: str, path: Path,
                   filename: str, sha256: str | None = None, options: IngestOptions | None = None,
                   category: str = "", content: str | None = None) -> ProductRead:
    """An approved seller's file → a custody entry with its first version → a draft product over it."""
    seller = _seller(session, actor, seller_id)
    name = (name or "").strip()
    if not 2 <= len(name) <= 200:
        raise InvalidInput("请填写数据产品名称（2—200 个字符）", "Give the product a name (2-200 characters)",
                           code="bad_name", details={"field": "name"})
    res = register_custody_entry(session, seller, name, content or f"{seller.name} 上传的数据：{filename}",
                                 UPLOAD_TAG)
    version, findings = _ingest(session, settings, res, path, filename, sha256, options)
    data = ProductCreate(
        seller_id=seller.id, name=name, category=category[:100], sources=[SourceRef(resource=res.code)],
        sheet=ProductSheet(content=(content or f"供方上传数据：{filename}（{version.rows} 行）")[:4000]),
        delivery_modes=["api", "hosted"], rights=["holding", "operating"])
    product = PR.create_with(session=session, actor=actor, seller=seller, data=data, adopt={res.id})
    details = _details(res, version, filename, findings)
    record(session, actor, events.MarketUploadCreate(resource_id=product.code, details=details))
    emit(session, MarketEvent(kind="product.upload", subject=f"product:{product.code}", actor=actor.username,
                              data={"product_id": product.id, "seller_id": seller.id, **details}, at=utcnow()))
    return product


def upload_source(session: Session, actor: Actor, product_id: int, *,
                  oversight: bool = False) -> tuple[MarketProduct, CatalogResource]:
    """The upload entry of a seller's product, for one of the seller's members — or, with
    ``oversight``, the operator and the regulator too (else ``PermissionDenied``)."""
    p = PR.get_product_row(session, product_id)
    if not (oversight and allowed(actor, A.PARTICIPANT_VIEW_ALL)):
        acting_for(session, actor, p.seller_id, approved=False)
    src = session.scalars(select(MarketProductSource).where(MarketProductSource.product_id == p.id)).all()
    for s in src:
        res = session.get(CatalogResource, s.resource_id)
        if res is not None and is_custody(session, res) and UPLOAD_TAG in (res.tags or []):
            return p, res
    raise InvalidInput(f"数据产品 {p.code} 不是供方上传的数据", f"Product {p.code} does not wrap an upload",
                       code="product_not_upload")


def upload_version(*, session: Session, actor: Actor, settings: Settings, product_id: int, path: Path,
                   filename: str, sha256: str | None = None, options: IngestOptions | None = None) -> dict[str, Any]:
    """A new version of an upload (its columns must match the entry's information items)."""
    p, res = upload_source(session, actor, product_id)
    acting_for(session, actor, p.seller_id)  # approved, to add data
    version, findings = _ingest(session, settings, res, path, filename, sha256, options)
    details = _details(res, version, filename, findings)
    record(session, actor, events.MarketUploadVersion(resource_id=p.code, details=details))
    emit(session, MarketEvent(kind="product.upload", subject=f"product:{p.code}", actor=actor.username,
                              data={"product_id": p.id, "seller_id": p.seller_id, **details}, at=utcnow()))
    return details


def upload_info(*, session: Session, settings: Settings, actor: Actor, product_id: int,
                raw: bool = False) -> dict[str, Any]:
    """An upload's versions and the detectors' findings per version, for the seller's members and
    the exchange's oversight; ``raw`` adds the first rows of the newest version as uploaded, for the
    seller's members only (the operator reviews through the masked sample)."""
    p, res = upload_source(session, actor, product_id, oversight=not raw)
    versions = list_versions(session, res.id)
    reports = {r.version: r for r in session.scalars(select(PrivacyScanReport).where(
        PrivacyScanReport.resource_id == res.id).order_by(PrivacyScanReport.id))}
    out: dict[str, Any] = {
        "product_id": p.id, "resource": res.code, "items": [i.get("name") for i in res.information_items or []],
        "versions": [{"version": v.version, "rows": v.rows, "source_name": v.source_name, "format": v.source_format,
                      "encoding": v.encoding, "sha256": v.source_sha256, "at": v.created_at,
                      "grade": getattr(reports.get(v.version), "proposed_grade", None),
                      "findings": {c["column"]: c["entity"] for c in (reports[v.version].report.get("columns", [])
                                   if v.version in reports else []) if c.get("entity")}}
                     for v in reversed(versions)]}
    if raw and versions:
        latest = get_version(session, res.id)
        table = engine(settings).query(f"SELECT * FROM t LIMIT {RAW_ROWS}",
                                       {"t": TableSource("t", version_files(settings, latest))}, Limits(timeout_s=60))
        out["raw"] = {"columns": table.column_names,
                      "rows": [[None if v is None else str(v) for v in row.values()] for row in table.to_pylist()]}
    return out
