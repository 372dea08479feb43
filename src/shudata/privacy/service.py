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

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor, ResourceRef
from shudata.lake.ingest.limits import ReadLimits
from shudata.lake.service import latest_version
from shudata.privacy import actions, keys, ownership, sources
from shudata.privacy.compile import CompiledPolicy, compile_plan
from shudata.privacy.decrypt import decrypt_tokens
from shudata.privacy.detect.base import ScanReport
from shudata.privacy.detect.classify import about_persons, scan_table
from shudata.privacy.entities import grade_label
from shudata.privacy.gate import enforce
from shudata.privacy.mask import mask_source, mask_table, write_temp_parquet
from shudata.privacy.models import PrivacyKey, PrivacyPolicy, PrivacyScanReport
from shudata.privacy.policy import Policy, validate_policy
from shudata.privacy.profiles import PROFILES
from shudata.privacy.readers import read_file
from shudata.privacy.review import apply_reviews, in_force
from shudata.privacy.schemas import (
    KeyCreate,
    KeyRead,
    MaskResult,
    PolicyRead,
    PolicySave,
    ScanReportRead,
)
from shudata.security.authz import allowed, require

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
    record(session, actor, events.PrivacyScanFile(resource_id=label[:200],
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
    record(session, actor, events.PrivacyScan(
        resource_id=data.resource.code,
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
        ref = ResourceRef("privacy.scan", row.id, owner=row.created_by)
        if actor.is_authenticated and not allowed(actor, actions.SCAN_FILE_VIEW, ref):
            raise PermissionDenied("只能查看自己上传文件的扫描报告", "Only the uploader can see a file's scan report",
                                   details={"action": actions.SCAN_FILE_VIEW.name, "resource_type": "privacy.scan",
                                            "resource_id": str(row.id)}, code="permission_denied")
        require(actor, actions.SCAN_FILE_VIEW, ref)
        return
    res = session.get(CatalogResource, row.resource_id)
    if res is None:
        raise NotFound(f"扫描报告 {row.id} 不存在", f"Scan report {row.id} not found", code="scan_not_found")
    sources.require_raw_reader(actor, res, action)


def get_scan_report(*, session: Session, actor: Actor, report_id: int) -> ScanReportRead:
    row = _report_row(session, report_id)
    _require_report(session, actor, row, actions.SCAN_VIEW)
    return _report_read(row)


def list_scan_reports(*, session: Session, actor: Actor, resource: str) -> list[ScanReportRead]:
    """Reports of a resource, newest first."""
    res = find_resource(session, resource)
    sources.require_raw_reader(actor, res, actions.SCAN_VIEW)
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
    record(session, actor, events.PrivacyGradeConfirm(
        resource_id=str(row.id), details={"grade": grade, "label": grade_label(grade),
                                           "proposed": row.proposed_grade}))
    return _report_read(row)


# -- keys ----------------------------------------------------------------------------------

def create_key(*, session: Session, actor: Actor, settings: Settings, data: KeyCreate) -> KeyRead:
    require(actor, actions.KEY_MANAGE)
    row = keys.create(session, settings, data.key_id, data.purpose, actor.username)
    record(session, actor, events.PrivacyKeyCreate(resource_id=row.key_id))
    return KeyRead.model_validate(row)


def list_keys(*, session: Session, actor: Actor) -> list[KeyRead]:
    require(actor, actions.KEY_VIEW)
    return [KeyRead.model_validate(r) for r in session.scalars(select(PrivacyKey).order_by(PrivacyKey.key_id))]


# -- policies -----------------------------------------------------------------------------

def _policy_read(row: PrivacyPolicy) -> PolicyRead:
    return PolicyRead(id=row.id, name=row.name, profile=row.profile, revision=row.revision, body=row.body,
                      created_by=row.created_by, updated_at=row.updated_at)


def _parse_policy(data: PolicySave) -> Policy:
    if data.text is not None:
        return Policy.from_text(data.text)
    if data.policy is not None:
        return Policy.parse(data.policy)
    raise InvalidInput("请提供策略内容（text 或 policy）", "Provide the policy (text or policy)", code="invalid_policy")


def _check_bound_name(policy: Policy, bound: ownership.Binding) -> None:
    """A bound name is either exactly the one delivery looks up (with its profile) or a free
    name under the resource code, never a look-alike of the looked-up one."""
    profile = bound.exact_profile()
    if profile is None:
        canon = [ownership.resource_policy_name(r, p) for r in bound.resources for p in PROFILES]
        twin = next((c for c in canon if ownership.fold(c) == ownership.fold(policy.name)), None)
        if twin is not None:
            raise InvalidInput(f"策略名称“{policy.name}”与交付使用的名称“{twin}”仅在大小写、空白或字形上不同；"
                               f"请使用“{twin}”", f"The policy name {policy.name!r} differs from the name delivery "
                               f"uses, {twin!r}, only in case, blanks or look-alike characters; use {twin!r}",
                               code="policy_name_lookalike", details={"name": policy.name, "expected": twin})
    elif policy.profile != profile:
        raise InvalidInput(f"策略“{policy.name}”用于“{profile}”场景，但其 profile 为“{policy.profile}”",
                           f"The policy {policy.name!r} is used for the {profile!r} profile but says profile "
                           f"{policy.profile!r}", code="policy_profile_mismatch")


def _policy_schema(session: Session, settings: Settings, bound: ownership.Binding,
                   resource: str | None) -> pa.Schema | None:
    """The table a policy is validated against: its bound resource's latest version, or the one named.

    Only the column names and types are read (the Parquet footer): metadata, not data, so a
    steward or the admin who may manage the policy needs no right to read the rows.
    """
    res = find_resource(session, resource) if resource else None
    if bound.bound:
        if res is not None and res.id not in {r.id for r in bound.resources}:
            raise InvalidInput(f"策略“{bound.name}”属于资源 {bound.resources[0].code}，不能按 {res.code} 校验",
                               f"The policy {bound.name!r} belongs to {bound.resources[0].code}; it cannot be "
                               f"validated against {res.code}", code="policy_resource_mismatch")
        res = res or (bound.resources[0] if len(bound.resources) == 1 else None)
    if res is None:
        return None
    version = latest_version(session, res.id)
    return sources.version_schema(settings, version) if version is not None else None


def save_policy(*, session: Session, actor: Actor, settings: Settings, data: PolicySave) -> PolicyRead:
    """Validate and store a policy (a new revision when the name exists).

    A policy bound to a resource (:mod:`shudata.privacy.ownership`) is saved only by a data
    steward of the resource's provider department; an unbound one is changed only by its
    owner (the creating steward's department, or the platform admin for platform-wide ones).
    """
    require(actor, actions.POLICY_MANAGE)
    policy = _parse_policy(data)
    bound = ownership.binding(session, policy.name)
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == policy.name))
    if bound.bound:
        ownership.require_resource_policy(actor, bound)
        _check_bound_name(policy, bound)
    elif row is not None:
        ownership.require_owned_policy(session, actor, row)
    schema = _policy_schema(session, settings, bound, data.resource)
    validate_policy(policy, schema, available_keys=keys.active_ids(session))
    if row is None:
        row = PrivacyPolicy(name=policy.name, profile=policy.profile, body=policy.to_dict(), created_by=actor.username)
        session.add(row)
    else:
        row.profile, row.body = policy.profile, policy.to_dict()
        row.revision, row.updated_at = row.revision + 1, utcnow()
    session.flush()
    record(session, actor, events.PrivacyPolicySave(resource_id=policy.name,
                                                    details={"revision": row.revision, "profile": policy.profile,
                                                             "resources": [r.code for r in bound.resources]}))
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
    if row is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("row is unexpectedly None")
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
             findings: Mapping[str, str | None] | None, *, binding: str | None) -> CompiledPolicy:
    """Validate ``policy`` against the table and compile it with its keys loaded.

    ``binding``: the code of the resource the table comes from; SM4 output names it and only
    that resource's provider department decrypts it (``None`` for a file: unbound).
    """
    validate_policy(policy, schema, available_keys=keys.active_ids(session))
    plan = compile_plan(policy, schema, findings=findings)
    return compile_plan(policy, schema, findings=findings, keys=keys.load(session, settings, plan.key_ids()),
                        binding=binding)


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
    findings = apply_reviews(session, data.resource.id, findings,
                             lambda: sources.sample_table(settings, data.source, 2000))
    person_table, overruled = about_persons(findings.values()), set(in_force(session, data.resource.id))
    plan = plan_for(session, settings, pol, schema, findings, binding=data.resource.code)
    gate: dict[str, Any] = {}
    if dest is not None:
        def check(tmp: Path) -> None:
            gate.update(enforce(sources.sample_table(settings, sources.parquet_source(tmp), 5000),
                                profile=pol.profile, exempt=_exempt(plan), person_table=person_table,
                                overruled=overruled).as_dict())
        run = mask_source(data.source, plan, dest, check=check,
                          engine=sources.engine(settings, resource=data.resource.code, source=data.source))
        rows, preview, ran = run.rows, None, run.ran
    else:
        sample = sources.sample_table(settings, data.source, preview_rows)
        out = mask_table(sample, plan, engine=sources.engine(settings))
        gate = enforce(out, profile=pol.profile, exempt=_exempt(plan), person_table=person_table,
                       overruled=overruled).as_dict()
        rows, preview, ran = out.num_rows, out.to_pylist(), None
    record(session, actor, events.PrivacyMask(
        resource_id=data.resource.code,
        details={"version": data.version.version, "policy": pol.name, "rows": rows,
                 "operators": {c: o.name for c, o in plan.operators.items()},
                 "key_ids": sorted(plan.key_ids()),
                 "output": str(dest) if dest else None, **({"ran": ran} if ran else {})}))
    return _result(data.label, rows, plan, gate, dest, preview)


def mask_file(*, session: Session, actor: Actor, settings: Settings, path: Path,
              policy: str | Mapping[str, Any] | Policy, dest: Path) -> MaskResult:
    """Mask a local file (read like ingest) into the Parquet file ``dest``, gate-checked."""
    require(actor, actions.MASK_FILE)
    pol = load_policy(session, policy)
    table = read_file(path)
    findings = {c.column: c.entity for c in scan_table(table, source=Path(path).name).columns}
    plan = plan_for(session, settings, pol, table.schema, findings, binding=None)
    gate: dict[str, Any] = {}
    with sources.temp_dir() as tmp:
        src = sources.parquet_source(write_temp_parquet(table, Path(tmp)))

        def check(out: Path) -> None:
            gate.update(enforce(sources.sample_table(settings, sources.parquet_source(out), 5000),
                                profile=pol.profile, exempt=_exempt(plan),
                                person_table=about_persons(findings.values())).as_dict())
        run = mask_source(src, plan, dest, engine=sources.engine(settings), check=check)
    record(session, actor, events.PrivacyMaskFile(resource_id=Path(path).name[:200],
                                                  details={"policy": pol.name, "rows": run.rows, "output": str(dest),
                                                           "key_ids": sorted(plan.key_ids())}))
    return _result(Path(path).name, run.rows, plan, gate, dest)


def decrypt_values(*, session: Session, actor: Actor, settings: Settings, tokens: list[str | None],
                   resource: str | None = None) -> list[str | None]:
    """Decrypt ``sm4_encrypt`` output for the staff of its provider department (:mod:`shudata.privacy.decrypt`)."""
    return decrypt_tokens(session=session, actor=actor, settings=settings, tokens=tokens, resource=resource)
