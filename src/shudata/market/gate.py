"""The listing gate of a data product's source version: mask it with the product's profile
(``trade`` by default), then scan the output — the portal's open-data gate, for trading.

The policy is the saved one named ``<code with / as ->-<profile>`` when the steward wrote one, else
the profile's defaults on the entity types detected in the version (the findings sharing and the
portal use). The masked file is the deliverable the review looked at; the sample shown on the
product page is taken from it, never from the raw version. Refused → the file is deleted and the
findings are returned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.lake.models import LakeVersion
from shudata.lake.service import version_files
from shudata.privacy.detect.classify import about_persons
from shudata.privacy.gate import GateResult, check_export
from shudata.privacy.mask import mask_source
from shudata.privacy.models import PrivacyPolicy
from shudata.privacy.policy import Policy
from shudata.privacy.review import in_force
from shudata.privacy.service import GATE_EXEMPT_OPS, plan_for
from shudata.privacy.sources import engine, parquet_source, sample_table
from shudata.query.engines.base import TableSource
from shudata.sharing.masking import version_findings

SAMPLE_ROWS = 10
# Entity types that say nothing about a natural person (an enterprise's code and name).
NOT_PERSONAL = frozenset({"CN_USCC", "ORGANIZATION"})


@dataclass(frozen=True)
class ProductGate:
    policy: str
    result: GateResult
    personal: bool  # the source is about natural persons, or has personal columns
    entities: dict[str, str]  # column → entity type detected in the source
    rows: int
    path: Path | None
    sample: dict[str, Any] = field(default_factory=dict)  # {"columns": [...], "rows": [[...]]}

    @property
    def passed(self) -> bool:
        return self.result.passed


def _policy(session: Session, resource: CatalogResource, profile: str) -> Policy:
    name = f"{resource.code.replace('/', '-')}-{profile}"
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == name))
    if row is not None:
        return Policy.parse(row.body)
    return Policy.parse({"name": f"default-{profile}", "profile": profile})


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, int | float | str | bool) else str(value)


def run_product_gate(session: Session, settings: Settings, resource: CatalogResource, version: LakeVersion,
                     profile: str, dest_dir: Path) -> ProductGate:
    """Mask ``version`` with ``profile`` into ``dest_dir`` and check the output. Never raises for findings."""
    source = TableSource("t", version_files(settings, version))
    schema = sample_table(settings, source, 1).schema
    policy = _policy(session, resource, profile)
    findings = version_findings(session, settings, resource, version, source)
    reviewed = set(in_force(session, resource.id))
    person_table = about_persons(findings.values())
    plan = plan_for(session, settings, policy, schema, findings, binding=resource.code)
    exempt = {c: op.name for c, op in plan.operators.items() if op.name in GATE_EXEMPT_OPS}
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{resource.code.replace('/', '-')}-v{version.version}-{uuid.uuid4().hex[:10]}.parquet"
    seen: dict[str, GateResult] = {}

    def check(tmp: Path) -> None:
        seen["result"] = check_export(sample_table(settings, parquet_source(tmp), 5000), profile=profile,
                                      exempt=exempt, person_table=person_table, overruled=reviewed)

    run = mask_source(source, plan, dest, engine=engine(settings, resource=resource.code, source=source), check=check)
    result = seen["result"]
    entities = {c: e for c, e in findings.items() if e}
    personal = bool(person_table) or any(e not in NOT_PERSONAL for e in entities.values())
    if not result.passed:
        dest.unlink(missing_ok=True)
        return ProductGate(policy.name, result, personal, entities, run.rows, None)
    head = pq.ParquetFile(dest).read_row_group(0).slice(0, SAMPLE_ROWS) if run.rows else None
    sample: dict[str, Any] = {"columns": [], "rows": []}
    if head is not None:
        sample = {"columns": head.column_names,
                  "rows": [[_cell(v) for v in row.values()] for row in head.to_pylist()]}
    return ProductGate(policy.name, result, personal, entities, run.rows, dest, sample)
