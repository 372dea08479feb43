"""The open-data gate: mask a version with the entry's ``open`` policy, then scan the output.

The policy is the saved one named ``<code with / as ->-open`` when the steward wrote one,
else the ``open`` profile's defaults on the entity types detected in the version (its
saved scan report, or a sample scan kept per version: :func:`shudata.sharing.masking.version_findings`,
the findings sharing uses too). The masked Parquet file is written next to the
portal's other files; the export gate (:func:`shudata.privacy.gate.check_export`) then
scans a sample of it — as a table about natural persons or not, as the findings say, and on
the columns a steward reviewed only for values that validate as identifiers. Refused → the file
is deleted and the findings are returned.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
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

PROFILE = "open"


def policy_name(resource: CatalogResource) -> str:
    return f"{resource.code.replace('/', '-')}-{PROFILE}"


def open_policy(session: Session, resource: CatalogResource) -> Policy:
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == policy_name(resource)))
    if row is not None:
        return Policy.parse(row.body)
    return Policy.parse({"name": f"default-{PROFILE}", "profile": PROFILE})


def portal_dir(settings: Settings) -> Path:
    return settings.data_dir / "portal"


@dataclass(frozen=True)
class GateOutcome:
    policy: str
    result: GateResult
    operators: dict[str, str]
    path: Path | None  # the masked file when passed
    rows: int
    bytes: int
    sha256: str | None
    columns: list[dict[str, str]]

    @property
    def passed(self) -> bool:
        return self.result.passed


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_gate(session: Session, settings: Settings, resource: CatalogResource, version: LakeVersion) -> GateOutcome:
    """Mask ``version`` for the portal and check the output. Never raises for findings."""
    source = TableSource("t", version_files(settings, version))
    schema = sample_table(settings, source, 1).schema
    policy = open_policy(session, resource)
    findings = version_findings(session, settings, resource, version, source)
    reviewed = set(in_force(session, resource.id))
    person_table = about_persons(findings.values())
    plan = plan_for(session, settings, policy, schema, findings, binding=resource.code)
    exempt = {c: op.name for c, op in plan.operators.items() if op.name in GATE_EXEMPT_OPS}
    # a new name per run: a re-run never touches the file a current publication serves
    dest = portal_dir(settings) / str(resource.id) / f"v{version.version}-{uuid.uuid4().hex[:10]}.parquet"
    seen: dict[str, Any] = {}

    def check(tmp: Path) -> None:
        seen["result"] = check_export(sample_table(settings, parquet_source(tmp), 5000), profile=PROFILE,
                                      exempt=exempt, person_table=person_table, overruled=reviewed)

    run = mask_source(source, plan, dest, engine=engine(settings, resource=resource.code, source=source), check=check)
    result: GateResult = seen["result"]
    operators = {c: op.name for c, op in plan.operators.items()}
    if not result.passed:
        dest.unlink(missing_ok=True)
        return GateOutcome(policy.name, result, operators, None, run.rows, 0, None, [])
    meta = pq.read_schema(dest)
    columns = [{"name": f.name, "type": str(f.type)} for f in meta]
    return GateOutcome(policy.name, result, operators, dest, run.rows, dest.stat().st_size, _sha256(dest), columns)
