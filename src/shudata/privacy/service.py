"""Use cases of the privacy capability: scan, classify, keys, policies, mask, decrypt.

Every function checks authorization first and records an audit event in the caller's
transaction; it never commits. k-anonymity, risk and differential privacy are in
:mod:`shudata.privacy.service_models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource, resource_ref
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.lake.ingest.limits import ReadLimits
from shudata.privacy import actions, keys, sources
from shudata.privacy.compile import CompiledPolicy, compile_plan
from shudata.privacy.detect.base import ScanReport
from shudata.privacy.detect.classify import scan_table
from shudata.privacy.entities import grade_label
from shudata.privacy.gate import enforce
from shudata.privacy.mask import mask_source, mask_table
from shudata.privacy.models import PrivacyKey, PrivacyPolicy, PrivacyScanReport
from shudata.privacy.policy import Policy, validate_policy
from shudata.privacy.readers import read_file
from shudata.privacy.schemas import (
    KeyCreate,
    KeyRead,
    MaskResult,
    PolicyRead,
    PolicySave,
    ScanReportRead,
)
from shudata.security.authz import require
from shudata.security.crypto.sm4_vec import DecryptionError, decrypt_many

GATE_EXEMPT_OPS = ("fpe_pseudonym", "synthetic")


# -- scanning ----------------------------------------------------------------------------

def _report_read(row: PrivacyScanReport) -> ScanReportRead:
    rep = ScanReport.model_validate(row.report)
    return ScanReportRead(id=row.id, resource_id=row.resource_id, version=row.version, source=row.source, rows=row.rows,
                          proposed_grade=row.proposed_grade, confirmed_grade=row.confirmed_grade,
                          confirmed_by=row.confirmed_by, created_by=row.created_by, created_at=row.created_at,
                          columns=list(rep.columns), proposed_grade_label=rep.proposed_grade_label)


def _save_report(session: Session, actor: Actor, rep: ScanReport, resource_id: int | None,
                 version: int | None) -> PrivacyScanReport:
    row = PrivacyScanReport(resource_id=resource_id, version=version, source=rep.source[:300], rows=rep.rows,
                            report=rep.model_dump(mode="json"), proposed_grade=rep.proposed_grade,
                            created_by=actor.username)
    session.add(row)
    session.flush()
    return row


def scan_file(*, session: Session, actor: Actor, path: Path, sample_rows: int = 2000, name: str | None = None,
              limits: ReadLimits | None = None) -> ScanReportRead:
    """Scan a local file (any format ingest reads) and save the report.

    ``name`` is the uploaded file's name (``path`` may be a temp file); ``limits`` bound its shape.
    """
    require(actor, actions.SCAN_FILE)
    label = name or Path(path).name
    table = read_file(path, as_text=True, name=label, limits=limits)
    rep = scan_table(table, source=label, sample_rows=sample_rows)
    row = _save_report(session, actor, rep, None, None)
    record(session, actor, AuditEvent("privacy.scan.file", resource_type="file", resource_id=label[:200],
                                      details={"report_id": row.id, "grade": rep.proposed_grade,
                                               "sensitive": list(rep.sensitive_columns)}))
    return _report_read(row)


def scan_resource(*, session: Session, actor: Actor, settings: Settings, resource: str, version: int | None = None,
                  sample_rows: int = 2000) -> ScanReportRead:
    """Scan a sample of a resource version and save the report with its proposed grade."""
    data = sources.resource_data(session, settings, actor, resource, version, actions.SCAN)
    table = sources.sample_table(settings, data.source, sample_rows)
    rep = scan_table(table, source=data.label, rows=data.version.rows, sample_rows=sample_rows)
    row = _save_report(session, actor, rep, data.resource.id, data.version.version)
    record(session, actor, AuditEvent("privacy.scan", resource_type="catalog.resource", resource_id=data.resource.code,
                                      details={"version": data.version.version, "report_id": row.id,
                                               "grade": rep.proposed_grade, "sensitive": list(rep.sensitive_columns)}))
    return _report_read(row)


def _report_row(session: Session, report_id: int) -> PrivacyScanReport:
    row = session.get(PrivacyScanReport, report_id)
    if row is None:
        raise NotFound(f"扫描报告 {report_id} 不存在", f"Scan report {report_id} not found", code="scan_not_found")
    return row


def _require_report(session: Session, actor: Actor, row: PrivacyScanReport, action: Any) -> None:
    if row.resource_id is None:  # a scan of an uploaded file belongs to whoever uploaded it
        require(actor, actions.SCAN_FILE)
        if row.created_by != actor.username and not actor.is_admin:
            raise PermissionDenied("只能查看自己上传文件的扫描报告", "Only the uploader can see a file's scan report",
                                   details={"action": actions.SCAN_VIEW.name, "resource_type": "privacy.scan",
                                            "resource_id": str(row.id)})
        return
    res = find_resource(session, str(row.resource_id))
    require(actor, action, resource_ref(res))


def get_scan_report(*, session: Session, actor: Actor, report_id: int) -> ScanReportRead:
    row = _report_row(session, report_id)
    _require_report(session, actor, row, actions.SCAN_VIEW)
    return _report_read(row)


def list_scan_reports(*, session: Session, actor: Actor, resource: str) -> list[ScanReportRead]:
    """Reports of a resource, newest first."""
    res = find_resource(session, resource)
    require(actor, actions.SCAN_VIEW, resource_ref(res))
    rows = session.scalars(select(PrivacyScanReport).where(PrivacyScanReport.resource_id == res.id)
                           .order_by(PrivacyScanReport.id.desc()))
    return [_report_read(r) for r in rows]


def confirm_grade(*, session: Session, actor: Actor, report_id: int, grade: int) -> ScanReportRead:
    """The steward confirms (or corrects) the proposed 分类分级 grade."""
    row = _report_row(session, report_id)
    _require_report(session, actor, row, actions.GRADE_CONFIRM)
    if not 1 <= grade <= 4:
        raise InvalidInput("分级应为 1 到 4", "The grade must be 1 to 4", code="bad_grade")
    row.confirmed_grade = grade
    row.confirmed_by = actor.username
    session.flush()
    record(session, actor, AuditEvent("privacy.grade.confirm", resource_type="privacy.scan_report",
                                      resource_id=str(row.id), details={"grade": grade, "label": grade_label(grade),
                                                                         "proposed": row.proposed_grade}))
    return _report_read(row)


# -- keys ----------------------------------------------------------------------------------

def create_key(*, session: Session, actor: Actor, settings: Settings, data: KeyCreate) -> KeyRead:
    require(actor, actions.KEY_MANAGE)
    row = keys.create(session, settings, data.key_id, data.purpose, actor.username)
    record(session, actor, AuditEvent("privacy.key.create", resource_type="privacy.key", resource_id=row.key_id))
    return KeyRead.model_validate(row)


def list_keys(*, session: Session, actor: Actor) -> list[KeyRead]:
    require(actor, actions.KEY_VIEW)
    return [KeyRead.model_validate(r) for r in session.scalars(select(PrivacyKey).order_by(PrivacyKey.key_id))]


# -- policies -----------------------------------------------------------------------------

def _policy_read(row: PrivacyPolicy) -> PolicyRead:
    return PolicyRead(id=row.id, name=row.name, profile=row.profile, revision=row.revision, body=row.body,
                      created_by=row.created_by, updated_at=row.updated_at)


def save_policy(*, session: Session, actor: Actor, settings: Settings, data: PolicySave) -> PolicyRead:
    """Validate and store a policy (a new revision when the name exists)."""
    require(actor, actions.POLICY_MANAGE)
    if data.text is not None:
        policy = Policy.from_text(data.text)
    elif data.policy is not None:
        policy = Policy.parse(data.policy)
    else:
        raise InvalidInput("请提供策略内容（text 或 policy）", "Provide the policy (text or policy)",
                           code="invalid_policy")
    schema = None
    if data.resource:
        rd = sources.resource_data(session, settings, actor, data.resource, None, actions.MASK)
        schema = sources.sample_table(settings, rd.source, 1).schema
    validate_policy(policy, schema, available_keys=keys.active_ids(session))
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == policy.name))
    if row is None:
        row = PrivacyPolicy(name=policy.name, profile=policy.profile, body=policy.to_dict(), created_by=actor.username)
        session.add(row)
    else:
        row.profile, row.body = policy.profile, policy.to_dict()
        row.revision, row.updated_at = row.revision + 1, utcnow()
    session.flush()
    record(session, actor, AuditEvent("privacy.policy.save", resource_type="privacy.policy", resource_id=policy.name,
                                      details={"revision": row.revision, "profile": policy.profile}))
    return _policy_read(row)


def load_policy(session: Session, policy: str | Mapping[str, Any] | Policy) -> Policy:
    """A policy object from a saved name, plain data or itself."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, Mapping):
        return Policy.parse(policy)
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == policy))
    if row is None:
        raise NotFound(f"脱敏策略“{policy}”不存在", f"Masking policy {policy!r} not found", code="policy_not_found")
    return Policy.parse(row.body)


def get_policy(*, session: Session, actor: Actor, name: str) -> PolicyRead:
    require(actor, actions.POLICY_VIEW)
    load_policy(session, name)
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == name))
    assert row is not None
    return _policy_read(row)


def list_policies(*, session: Session, actor: Actor) -> list[PolicyRead]:
    require(actor, actions.POLICY_VIEW)
    return [_policy_read(r) for r in session.scalars(select(PrivacyPolicy).order_by(PrivacyPolicy.name))]


# -- masking -------------------------------------------------------------------------------

def _findings(session: Session, resource_id: int | None, version: int | None) -> dict[str, str | None] | None:
    if resource_id is None:
        return None
    row = session.scalar(select(PrivacyScanReport).where(PrivacyScanReport.resource_id == resource_id,
                                                          PrivacyScanReport.version == version)
                         .order_by(PrivacyScanReport.id.desc()).limit(1))
    if row is None:
        return None
    return {c["column"]: c["entity"] for c in row.report["columns"]}


def plan_for(session: Session, settings: Settings, policy: Policy, schema: pa.Schema,
             findings: Mapping[str, str | None] | None) -> CompiledPolicy:
    """Validate ``policy`` against the table and compile it with its keys loaded."""
    validate_policy(policy, schema, available_keys=keys.active_ids(session))
    plan = compile_plan(policy, schema, findings=findings)
    return compile_plan(policy, schema, findings=findings, keys=keys.load(session, settings, plan.key_ids()))


def _exempt(plan: CompiledPolicy) -> dict[str, str]:
    return {c: op.name for c, op in plan.operators.items() if op.name in GATE_EXEMPT_OPS}


def _result(source: str, rows: int, plan: CompiledPolicy, gate: dict[str, Any], path: Path | None = None,
            preview: list[dict[str, Any]] | None = None) -> MaskResult:
    return MaskResult(source=source, rows=rows, columns={c: op.name for c, op in plan.operators.items()},
                      key_ids=sorted(plan.key_ids()), gate=gate, path=str(path) if path else None, preview=preview)


def mask_resource(*, session: Session, actor: Actor, settings: Settings, resource: str,
                  policy: str | Mapping[str, Any] | Policy, dest: Path | None = None, version: int | None = None,
                  preview_rows: int = 100) -> MaskResult:
    """Mask a resource version: to the Parquet file ``dest``, or a preview of ``preview_rows``.

    The export gate checks the output before it is released; nothing is written on error.
    """
    data = sources.resource_data(session, settings, actor, resource, version, actions.MASK)
    pol = load_policy(session, policy)
    schema = sources.sample_table(settings, data.source, 1).schema
    findings = _findings(session, data.resource.id, data.version.version)
    if findings is None:
        findings = {c.column: c.entity for c in scan_table(sources.sample_table(settings, data.source, 2000),
                                                           source=data.label).columns}
    plan = plan_for(session, settings, pol, schema, findings)
    gate: dict[str, Any] = {}
    if dest is not None:
        def check(tmp: Path) -> None:
            gate.update(enforce(sources.sample_table(settings, sources.parquet_source(tmp), 5000),
                                profile=pol.profile, exempt=_exempt(plan)).as_dict())
        run = mask_source(data.source, plan, dest, engine=sources.engine(settings), check=check)
        rows, preview = run.rows, None
    else:
        sample = sources.sample_table(settings, data.source, preview_rows)
        out = mask_table(sample, plan, engine=sources.engine(settings))
        gate = enforce(out, profile=pol.profile, exempt=_exempt(plan)).as_dict()
        rows, preview = out.num_rows, out.to_pylist()
    record(session, actor, AuditEvent("privacy.mask", resource_type="catalog.resource", resource_id=data.resource.code,
                                      details={"version": data.version.version, "policy": pol.name, "rows": rows,
                                               "operators": {c: o.name for c, o in plan.operators.items()},
                                               "key_ids": sorted(plan.key_ids()),
                                               "output": str(dest) if dest else None}))
    return _result(data.label, rows, plan, gate, dest, preview)


def mask_file(*, session: Session, actor: Actor, settings: Settings, path: Path,
              policy: str | Mapping[str, Any] | Policy, dest: Path) -> MaskResult:
    """Mask a local file (read like ingest) into the Parquet file ``dest``, gate-checked."""
    require(actor, actions.MASK_FILE)
    pol = load_policy(session, policy)
    table = read_file(path)
    findings = {c.column: c.entity for c in scan_table(table, source=Path(path).name).columns}
    plan = plan_for(session, settings, pol, table.schema, findings)
    gate: dict[str, Any] = {}
    with sources.temp_dir() as tmp:
        from shudata.privacy.mask import write_temp_parquet

        src = sources.parquet_source(write_temp_parquet(table, Path(tmp)))

        def check(out: Path) -> None:
            gate.update(enforce(sources.sample_table(settings, sources.parquet_source(out), 5000),
                                profile=pol.profile, exempt=_exempt(plan)).as_dict())
        run = mask_source(src, plan, dest, engine=sources.engine(settings), check=check)
    record(session, actor, AuditEvent("privacy.mask.file", resource_type="file", resource_id=Path(path).name[:200],
                                      details={"policy": pol.name, "rows": run.rows, "output": str(dest),
                                               "key_ids": sorted(plan.key_ids())}))
    return _result(Path(path).name, run.rows, plan, gate, dest)


def decrypt_values(*, session: Session, actor: Actor, settings: Settings, tokens: list[str | None]) -> list[str | None]:
    """Decrypt ``sm4_encrypt`` output (``key_id:hex``) for holders of the key (platform admin)."""
    require(actor, actions.DECRYPT)
    from shudata.privacy.operators.udfs import subkey

    kids = sorted({t.split(":", 1)[0] for t in tokens if t})
    ring = keys.load(session, settings, kids)
    arr = pa.array(tokens, type=pa.string())
    out: list[str | None] = [None] * len(tokens)
    for kid in kids:
        idx = [i for i, t in enumerate(tokens) if t and t.startswith(f"{kid}:")]
        try:
            plain = decrypt_many(subkey(ring[kid], "sm4"), arr.take(pa.array(idx)), prefix=f"{kid}:").to_pylist()
        except DecryptionError:
            raise InvalidInput("密文无法解密：密钥不匹配或密文被篡改", "Cannot decrypt: wrong key or tampered value",
                               code="decryption_failed") from None
        for i, p in zip(idx, plain, strict=True):
            out[i] = p
    record(session, actor, AuditEvent("privacy.decrypt", resource_type="privacy.key", resource_id=",".join(kids)[:200],
                                      details={"values": len(tokens)}))
    return out
