"""Quality use cases: save rule sets (validated when saved), run checks, read runs and scores.

Every function is keyword-only with ``session`` and ``actor`` first, checks authorisation
first and records an audit event in the same transaction; none commits.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource, require_raw_observer, require_read_data
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import UPDATE_CYCLE_DAYS, UpdateCycle
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.plugins import plugins_of
from shudata.core.textsafe import holds_control_chars, require_plain_text
from shudata.core.types import Actor
from shudata.lake.models import LakeVersion
from shudata.lake.service import get_version, latest_version, version_files
from shudata.quality import actions as A
from shudata.quality.models import QualityResult, QualityRuleSet, QualityRun
from shudata.quality.profile import profile_target
from shudata.quality.reference import region_sources
from shudata.quality.rules import Reference, RuleSet, parse_rule, parse_rule_set
from shudata.quality.run import Target, evaluate
from shudata.quality.schemas import (
    CheckReport,
    ColumnStat,
    RuleResult,
    RuleSetRead,
    RuleSuggestion,
    RuleSuggestions,
    RunRead,
)
from shudata.query.engines import choose
from shudata.query.engines.base import Engine, TableSource
from shudata.query.service import default_engine
from shudata.security.authz import Action


def require_raw_reader(actor: Actor, res: CatalogResource, action: Action) -> None:
    """Raise unless ``actor`` may perform ``action`` on ``res`` *and* read its data raw.

    A rule's verdict and failure count are computed on raw values: whoever may save or run
    rules, or read their results, could otherwise recover a value by probing (a ``pattern``
    rule per guessed digit, its count as the answer). So rules, runs, counts and reports of
    a resource are for the provider department's staff; the platform admin and other
    departments are refused (403, audited by the web and CLI layers).
    """
    require_raw_observer(actor, res, action, what_zh="质量规则、检查结果和失败计数",
                         what_en="quality rules, check results and failure counts are", code="quality_raw_data_only")


def ref_cache_dir(settings: Settings) -> Path:
    return settings.data_dir / "quality" / "ref"


def engine_for(settings: Settings, res: CatalogResource | None = None, v: LakeVersion | None = None) -> Engine:
    """The node's default engine, or Spark for an entry routed there (``spark_resources``,
    ``spark_route_min_mb`` over the version's files)."""
    if res is None:
        return default_engine(settings)
    return choose.engine_for(settings, resource=res.code, files=version_files(settings, v) if v else None)


def version_columns(v: LakeVersion | None) -> dict[str, str]:
    return {c["name"]: c.get("type", "string") for c in (v.columns if v else [])}


def known_columns(session: Session, res: CatalogResource) -> set[str]:
    """Column names a rule may use: the entry's information items and its latest data's columns."""
    items = {str(i.get("name")) for i in (res.information_items or []) if isinstance(i, dict)}
    return items | set(version_columns(latest_version(session, res.id)))


def _missing_columns_error(missing: Sequence[str], known: set[str]) -> InvalidInput:
    shown = "、".join(sorted(known)) or "（无）"
    return InvalidInput(f"规则引用了不存在的列：{'、'.join(missing)}；可用列：{shown}",
                        f"Rules reference missing columns: {', '.join(missing)}; "
                        f"known columns: {', '.join(sorted(known))}",
                        code="rule_missing_column", details={"missing": list(missing)})


def validate_rule_set(session: Session, actor: Actor, res: CatalogResource, rs: RuleSet) -> None:
    """Refuse a rule set that could not run: missing columns, unreadable or unknown references."""
    known = known_columns(session, res)
    missing = sorted(rs.columns_used() - known)
    if missing:
        raise _missing_columns_error(missing, known)
    for r in rs.rules:
        if isinstance(r, Reference):
            ref = find_resource(session, r.resource)
            if not _can_read(actor, ref):
                raise PermissionDenied(
                    f"规则“{r.key}”引用的资源“{ref.name}”您无权读取，不能保存该跨资源规则",
                    f"Rule {r.key!r} references {ref.code}, which you may not read", code="rule_reference_denied")
            ref_cols = known_columns(session, ref)
            if r.ref_column not in ref_cols:
                raise _missing_columns_error([f"{ref.name}.{r.ref_column}"], ref_cols)


def _can_read(actor: Actor, res: CatalogResource) -> bool:
    try:
        require_read_data(actor, res)
    except PermissionDenied:
        return False
    return True


def _current_row(session: Session, resource_id: int) -> QualityRuleSet | None:
    stmt = (select(QualityRuleSet).where(QualityRuleSet.resource_id == resource_id)
            .order_by(QualityRuleSet.revision.desc()).limit(1))
    return session.scalars(stmt).first()


def _rule_set_read(res: CatalogResource, row: QualityRuleSet) -> RuleSetRead:
    return RuleSetRead(resource_id=res.id, resource_code=res.code, revision=row.revision, spec=row.spec,
                       comment=row.comment, created_by=row.created_by, created_at=row.created_at)


def save_rule_set(*, session: Session, actor: Actor, resource: str, spec: Any,
                  comment: str | None = None, audit: Mapping[str, Any] | None = None) -> RuleSetRead:
    """Validate and store a new revision of an entry's rule set (``audit``: more details for the audit event)."""
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.RULES_EDIT)
    rs = parse_rule_set(spec, plugins=plugins_of(session))
    validate_rule_set(session, actor, res, rs)
    current = _current_row(session, res.id)
    row = QualityRuleSet(resource_id=res.id, revision=(current.revision + 1) if current else 1,
                         spec=rs.model_dump(mode="json", exclude_none=True), comment=comment,
                         created_by=actor.username)
    session.add(row)
    session.flush()
    record(session, actor, events.QualityRulesEdit(
        resource_id=res.code,
        details={"revision": row.revision, "rules": len(rs.rules), **(audit or {})}))
    return _rule_set_read(res, row)


def suggest_rules(*, session: Session, settings: Settings, actor: Actor, resource: str,
                  engine: Engine | None = None, today: dt.date | None = None) -> RuleSuggestions:
    """Rules proposed from the profile of the entry's newest data version (none without data).

    Each suggestion is a valid rule (check digits for detected IDs and credit codes, code lists
    for columns with few values, not-null and unique for key items, ranges for numbers, date
    windows for dates) with the reason in its ``note``; the steward accepts, edits or drops
    each and saves the chosen set with :func:`accept_suggestions`. Only whoever may edit the
    rules sees them: code lists and ranges show raw values.
    """
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.RULES_EDIT)
    current = _current_row(session, res.id)
    v = latest_version(session, res.id)
    out = RuleSuggestions(resource_code=res.code, version=v.version if v else None,
                          current_revision=current.revision if current else None)
    if v is None:
        return out
    prof = profile_target(engine or engine_for(settings), target_of(settings, v, "f"),
                          lookups=region_sources(ref_cache_dir(settings)),
                          enum_max=settings.quality_suggest_enum_max, today=today)
    out.rows = prof.rows
    for col in prof.columns:
        for spec in col.suggested_rules:
            rule = parse_rule(spec, plugins=plugins_of(session))
            zh, en = rule.describe()
            out.suggestions.append(RuleSuggestion(key=rule.key, column=col.column, rule=spec, sentence_zh=zh,
                                                  sentence_en=en, reason=str(spec.get("note") or "")))
    return out


def accept_suggestions(*, session: Session, actor: Actor, resource: str, rules: Sequence[Any],
                       comment: str | None = None, replace: bool = True, offered: int | None = None) -> RuleSetRead:
    """Save the suggestions the steward kept (as edited) as the entry's rule set, a new audited
    revision. With ``replace`` false the rules in force stay and a kept rule replaces the one
    with the same key."""
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.RULES_EDIT)
    require_plain_text(comment, "comment")
    for n, rule in enumerate(rules, start=1):
        _refuse_control_chars(rule, n)
    kept = parse_rule_set(list(rules), plugins=plugins_of(session))
    chosen: list[Any] = [r.model_dump(mode="json", exclude_none=True) for r in kept.rules]
    current, _ = current_rule_set(session, res.id)
    if not replace:
        keys = {r.key for r in kept.rules}
        chosen = [r.model_dump(mode="json", exclude_none=True) for r in current.rules if r.key not in keys] + chosen
    spec: dict[str, Any] = {"rules": chosen, "reject_ingest_above": current.reject_ingest_above}
    details = {"source": "suggested", "accepted": len(kept.rules), "replace": replace}
    if offered is not None:
        details["dropped"] = max(0, offered - len(kept.rules))
    return save_rule_set(session=session, actor=actor, resource=res.code, spec=spec,
                         comment=comment or "采纳建议规则 / accepted suggested rules", audit=details)


def _refuse_control_chars(rule: Any, n: int) -> None:
    """A kept suggestion's text (code-list values, bounds, note) as the steward edited it: no control
    characters (422 ``control_characters``). Column names are the data's own and are left alone.

    >>> _refuse_control_chars({"type": "enum", "column": "性别", "values": ["男", "女\\n"]}, 1)
    >>> _refuse_control_chars({"type": "enum", "column": "性别", "values": ["男", "女\\x00"]}, 2)
    Traceback (most recent call last):
    shudata.core.errors.InvalidInput: 第 2 条规则的 values：含有不可见的控制字符（如 NUL、ESC 或文字方向控制符）...
    """
    if not isinstance(rule, Mapping):
        return
    for key, value in rule.items():
        if key in ("column", "columns") or str(key).endswith("_column"):
            continue
        if holds_control_chars(value):
            raise InvalidInput(f"第 {n} 条规则的 {key}：含有不可见的控制字符（如 NUL、ESC 或文字方向控制符），"
                               "请删去后重试",
                               f"Rule {n}, {key}: contains invisible control characters (NUL, ESC, text direction "
                               "overrides); remove them", code="control_characters", details={"rule": n, "field": key})


def current_rule_set(session: Session, resource_id: int) -> tuple[RuleSet, int | None]:
    """The rule set in force (empty, revision ``None``, when none was saved)."""
    row = _current_row(session, resource_id)
    return (parse_rule_set(row.spec, plugins=plugins_of(session)), row.revision) if row else (RuleSet(), None)


def get_rule_set(*, session: Session, actor: Actor, resource: str) -> RuleSetRead | None:
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.REPORT_VIEW)
    row = _current_row(session, res.id)
    return _rule_set_read(res, row) if row else None


def rule_set_history(*, session: Session, actor: Actor, resource: str) -> list[RuleSetRead]:
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.REPORT_VIEW)
    rows = session.scalars(select(QualityRuleSet).where(QualityRuleSet.resource_id == res.id)
                           .order_by(QualityRuleSet.revision.desc()))
    return [_rule_set_read(res, r) for r in rows]


def target_of(settings: Settings, v: LakeVersion, name: str = "t") -> Target:
    cols = version_columns(v)
    return Target(TableSource(name, version_files(settings, v)), tuple(cols), cols)


def _previous(session: Session, settings: Settings, v: LakeVersion) -> Target | None:
    stmt = (select(LakeVersion).where(LakeVersion.resource_id == v.resource_id, LakeVersion.version < v.version)
            .order_by(LakeVersion.version.desc()).limit(1))
    prev = session.scalars(stmt).first()
    return target_of(settings, prev, "__prev") if prev else None


def lookups_for(session: Session, settings: Settings, actor: Actor, rs: RuleSet) -> dict[str, TableSource]:
    """Region tables plus, for each cross-resource rule, the referenced entry's latest data."""
    out: dict[str, TableSource] = dict(region_sources(ref_cache_dir(settings)))
    for i, r in enumerate(rs.row_rules()):
        if isinstance(r, Reference):
            ref = find_resource(session, r.resource)
            require_read_data(actor, ref)
            v = get_version(session, ref.id)
            out[f"__ref{i}"] = TableSource(f"__ref{i}", version_files(settings, v))
    return out


def max_age_days(res: CatalogResource) -> int | None:
    try:
        return UPDATE_CYCLE_DAYS[UpdateCycle(res.update_cycle)]
    except ValueError:
        return None


def run_checks(*, session: Session, settings: Settings, actor: Actor, res: CatalogResource, v: LakeVersion,
               rs: RuleSet, engine: Engine | None = None, as_of: dt.date | None = None) -> CheckReport:
    """Evaluate ``rs`` on version ``v`` (no authorisation here: callers have checked)."""
    eng = engine or engine_for(settings, res, v)
    return evaluate(eng, target_of(settings, v), rs,
                    lookups=lookups_for(session, settings, actor, rs), as_of=as_of,
                    previous=_previous(session, settings, v), max_age_days=max_age_days(res),
                    version_created_at=v.created_at,
                    vectorised=eng.name != "spark")  # on Spark every rule runs in the cluster's SQL


def store_run(session: Session, actor: Actor, res: CatalogResource, version: int | None, kind: str,
              revision: int | None, report: CheckReport) -> QualityRun:
    run = QualityRun(resource_id=res.id, version=version, kind=kind, rule_set_revision=revision, rows=report.rows,
                     passed=report.passed, overall_score=report.scores.get("overall"), scores=report.scores,
                     columns=[c.model_dump() for c in report.columns], created_by=actor.username)
    session.add(run)
    session.flush()
    for r in report.results:
        session.add(QualityResult(run_id=run.id, rule_key=r.key, payload=r.model_dump(mode="json"),
                                  failed=r.failed, passed=r.passed))
    session.flush()
    return run


def check(*, session: Session, settings: Settings, actor: Actor, resource: str, version: int | None = None,
          engine: Engine | None = None, as_of: dt.date | None = None) -> RunRead:
    """Run the entry's rule set on a version (the newest by default) and store the results."""
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.CHECK_RUN)
    v = get_version(session, res.id, version)
    rs, revision = current_rule_set(session, res.id)
    eng = engine or engine_for(settings, res, v)
    started = time.perf_counter()
    report = run_checks(session=session, settings=settings, actor=actor, res=res, v=v, rs=rs, engine=eng,
                        as_of=as_of)
    ran = choose.ran(eng, started, report.rows, "quality.check", res.code)
    run = store_run(session, actor, res, v.version, "check", revision, report)
    record(session, actor, events.QualityCheckRun(
        resource_id=res.code,
        details={"version": v.version, "run": run.id, "ran": ran,
                 "score": report.scores.get("overall"),
                 "failed_rules": [r.key for r in report.results if not r.passed]}))
    return run_read(session, run)


def where_ran(session: Session, run: QualityRun, code: str) -> dict[str, Any] | None:
    """Where a check run ran (engine, master, seconds, rows), from its ``quality.check.run``
    audit entry; ``None`` for runs recorded without it (ingest, cleaning, older runs)."""
    rows = session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == events.QualityCheckRun.name, AuditEntry.resource_id == code,
        AuditEntry.ts >= run.created_at - dt.timedelta(minutes=1)).order_by(AuditEntry.id).limit(200))
    for text in rows:
        details = json.loads(text or "{}")
        if details.get("run") == run.id and isinstance(details.get("ran"), dict):
            return dict(details["ran"])
    return None


def run_read(session: Session, run: QualityRun, with_results: bool = True) -> RunRead:
    """A stored run with its results (sample failing values included: every reader of a run may
    read the resource's data raw, :func:`require_raw_reader`)."""
    results: list[RuleResult] = []
    if with_results:
        rows = session.scalars(select(QualityResult).where(QualityResult.run_id == run.id).order_by(QualityResult.id))
        results = [RuleResult.model_validate(r.payload) for r in rows]
    return RunRead(id=run.id, resource_id=run.resource_id, version=run.version, kind=run.kind,
                   rule_set_revision=run.rule_set_revision, rows=run.rows, passed=run.passed, scores=run.scores,
                   created_by=run.created_by, created_at=run.created_at, results=results,
                   columns=[ColumnStat.model_validate(c) for c in run.columns or []])


def list_runs(*, session: Session, actor: Actor, resource: str, limit: int = 50) -> list[RunRead]:
    """Runs of an entry, newest first (the trend across versions)."""
    res = find_resource(session, resource)
    require_raw_reader(actor, res, A.REPORT_VIEW)
    rows = session.scalars(select(QualityRun).where(QualityRun.resource_id == res.id)
                           .order_by(QualityRun.id.desc()).limit(limit))
    return [run_read(session, r, with_results=False) for r in rows]


def get_run(*, session: Session, actor: Actor, run_id: int) -> RunRead:
    run = session.get(QualityRun, run_id)
    if run is None:
        raise NotFound(f"质量检查记录 {run_id} 不存在", f"Quality run {run_id} not found", code="run_not_found")
    res = session.get(CatalogResource, run.resource_id)
    if res is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("res is unexpectedly None")
    require_raw_reader(actor, res, A.REPORT_VIEW)
    return run_read(session, run)


def latest_scores(session: Session, resource_ids: Iterable[int]) -> dict[int, float]:
    """Overall score of the newest scored run per resource (for catalog search sorting/filtering)."""
    ids = list(resource_ids)
    if not ids:
        return {}
    newest = (select(QualityRun.resource_id, func.max(QualityRun.id).label("rid"))
              .where(QualityRun.resource_id.in_(ids), QualityRun.overall_score.is_not(None))
              .group_by(QualityRun.resource_id).subquery())
    stmt = select(QualityRun.resource_id, QualityRun.overall_score).join(newest, QualityRun.id == newest.c.rid)
    return {int(rid): float(score) for rid, score in session.execute(stmt) if score is not None}


def latest_score(session: Session, resource_id: int) -> float | None:
    """Overall score (0–100) of the newest scored run of a resource, ``None`` when never checked."""
    return latest_scores(session, [resource_id]).get(resource_id)


def scores_trend(session: Session, resource_id: int) -> list[Mapping[str, Any]]:
    """Scores of the newest run per version, oldest version first."""
    rows = session.scalars(select(QualityRun).where(QualityRun.resource_id == resource_id,
                                                    QualityRun.version.is_not(None)).order_by(QualityRun.id))
    per_version: dict[int, QualityRun] = {}
    for r in rows:
        per_version[int(r.version or 0)] = r
    return [{"version": v, "run": r.id, "scores": r.scores} for v, r in sorted(per_version.items())]
