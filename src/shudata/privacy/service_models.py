"""Use cases of the privacy models: anonymise (k-anonymity …) with risk before/after, and
differentially private releases charged against per-consumer budgets."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlglot import exp

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, LimitExceeded, NotFound
from shudata.core.types import Actor
from shudata.privacy import actions, dp, sources
from shudata.privacy.kanon.apply import apply_node
from shudata.privacy.kanon.data import encode
from shudata.privacy.kanon.hierarchy import Hierarchy
from shudata.privacy.kanon.lattice import SearchResult, search
from shudata.privacy.kanon.metrics import METRICS
from shudata.privacy.kanon.models import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    TCloseness,
)
from shudata.privacy.kanon.risk import RiskSummary, table_risk
from shudata.privacy.models import PrivacyDpBudget, PrivacyDpSpend, PrivacyRiskReport
from shudata.privacy.schemas import BudgetSet, DpQuery, HierarchyChoice, KanonRequest
from shudata.query.engines.base import Limits
from shudata.security.authz import require

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Anonymised:
    table: pa.Table
    result: SearchResult
    before: RiskSummary
    after: RiskSummary
    levels: dict[str, int]
    generalised: dict[str, dict[str, Any]]


def build_models(req: KanonRequest, hierarchies: Mapping[str, Hierarchy]) -> list[PrivacyModel]:
    models: list[PrivacyModel] = [KAnonymity(k=req.k)]
    if req.l_diversity:
        models.append(DistinctLDiversity(l=req.l_diversity) if req.l_kind == "distinct"
                      else EntropyLDiversity(l=req.l_diversity))
    if req.t_closeness:
        h = hierarchies.get(req.sensitive or "")
        models.append(TCloseness(t=req.t_closeness, distance="hierarchical" if h else "equal", hierarchy=h))
    if (req.l_diversity or req.t_closeness) and not req.sensitive:
        raise InvalidInput("l-多样性与 t-紧密性需要指定敏感属性", "l-diversity and t-closeness need a sensitive "
                           "attribute", code="bad_privacy_model")
    return models


def _values(table: pa.Table, qi: str) -> list[str]:
    if qi not in table.column_names:
        raise InvalidInput(f"准标识符列不存在：{qi}", f"Quasi-identifier {qi!r} is not in the table", code="unknown_qi")
    return [str(v) for v in table.column(qi).to_pylist() if v is not None]


def _refuse(qi: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"准标识符“{qi}”不能使用所选的泛化层次：{zh}", f"Quasi-identifier {qi!r}: {en}",
                        code="bad_hierarchy", details={"attribute": qi})


def default_hierarchy(table: pa.Table, qi: str, choice: HierarchyChoice | None = None) -> Hierarchy:
    """The built-in hierarchy chosen for ``qi`` (``auto``: intervals for numbers, date levels for
    dates, region-code levels for 6-digit codes, masking for other codes)."""
    values = _values(table, qi)
    kind = choice.kind if choice is not None else "auto"
    col_type = table.column(qi).type
    if kind == "auto":
        if pa.types.is_integer(col_type):
            kind = "intervals"
        elif pa.types.is_date(col_type):
            kind = "dates"
        elif values and all(len(v) == 6 and v.isdigit() for v in values):
            kind = "regions"
        else:
            kind = "masking"
    if kind == "intervals":
        try:
            [float(v) for v in values]
        except ValueError:
            raise _refuse(qi, "数值区间只适用于数值列", "intervals need numbers") from None
        return Hierarchy.build_intervals(qi, values, widths=tuple(choice.widths) if choice else (5, 10, 20))
    if kind == "dates":
        if not all(_ISO_DATE.match(v) for v in values):
            raise _refuse(qi, "日期层级只适用于 YYYY-MM-DD 形式的日期", "date levels need YYYY-MM-DD dates")
        return Hierarchy.build_dates(qi, values)
    if kind == "regions":
        if not all(len(v) == 6 and v.isdigit() for v in values):
            raise _refuse(qi, "区划层级只适用于 6 位行政区划代码", "region levels need 6-digit region codes")
        return Hierarchy.build_regions(qi, values)
    return Hierarchy.build_masking(qi, values)


def anonymise_table(table: pa.Table, req: KanonRequest, hierarchies: Mapping[str, Hierarchy] | None = None
                    ) -> Anonymised:
    """Find the optimal transformation of ``table`` and apply it (pure; no database)."""
    if req.metric not in METRICS:
        raise InvalidInput(f"未知的信息损失度量：{req.metric}；可用：{'、'.join(METRICS)}",
                           f"Unknown metric {req.metric!r}; use one of {', '.join(METRICS)}", code="bad_metric")
    hs = dict(hierarchies or {})
    for qi in req.quasi_identifiers:
        if qi not in hs:
            hs[qi] = default_hierarchy(table, qi, req.builtin.get(qi))
    enc = encode(table, req.quasi_identifiers, hs, req.sensitive)
    models = build_models(req, hs)
    metric = req.metric
    result = search(enc, models, suppression=req.suppression, metric=metric)
    if result.optimum is None:
        raise InvalidInput("在给定的泛化层次与抑制上限下找不到满足隐私模型的方案；请放宽 k/l/t 或提高抑制上限",
                           "No transformation satisfies the privacy models with these hierarchies and suppression "
                           "limit; relax k/l/t or allow more suppression", code="no_solution")
    out = apply_node(table, enc, result.optimum.node, models)
    levels = dict(zip(req.quasi_identifiers, result.optimum.node, strict=True))
    return Anonymised(out, result, table_risk(table, req.quasi_identifiers), table_risk(out, req.quasi_identifiers),
                      levels, {q: generalisation(hs[q], levels[q]) for q in req.quasi_identifiers})


def generalisation(h: Hierarchy, level: int, examples: int = 3) -> dict[str, Any]:
    """What level ``level`` of ``h`` does: the level, the hierarchy's top, a few leaves and their values."""
    leaves = h.leaves
    step = max(1, len(leaves) // examples)
    picked = list(range(0, len(leaves), step))[:examples]
    return {"level": level, "top": h.height - 1,
            "examples": [[leaves[i], h.levels[level][i]] for i in picked]}


def _hierarchies(req: KanonRequest) -> dict[str, Hierarchy]:
    return {a: Hierarchy.from_rows(a, rows) for a, rows in req.hierarchies.items()}


def summary(a: Anonymised, req: KanonRequest) -> dict[str, Any]:
    if a.result.optimum is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("a.result.optimum is unexpectedly None")
    return {"levels": a.levels, "generalisation": a.generalised, "metric": req.metric, "value": a.result.optimum.value,
            "suppressed": a.result.optimum.suppressed, "classes": a.result.optimum.classes,
            "evaluated": a.result.evaluated, "lattice_size": a.result.lattice_size,
            "seconds": round(a.result.seconds, 4)}


def anonymise_resource(*, session: Session, actor: Actor, settings: Settings, resource: str, req: KanonRequest,
                       dest: Path | None = None) -> PrivacyRiskReport:
    """Anonymise a resource version, store risk before/after, optionally write the output."""
    data = sources.resource_data(session, settings, actor, resource, req.version, actions.RISK)
    table = sources.whole_table(settings, data.source)
    a = anonymise_table(table, req, _hierarchies(req))
    if dest is not None:
        write_parquet_atomic(a.table, dest)
    row = PrivacyRiskReport(resource_id=data.resource.id, version=data.version.version, source=data.label,
                            quasi_identifiers=list(req.quasi_identifiers),
                            params=req.model_dump(exclude={"hierarchies"}), before=a.before.model_dump(),
                            after=a.after.model_dump(), result=summary(a, req), created_by=actor.username)
    session.add(row)
    session.flush()
    record(session, actor, events.PrivacyAnonymise(
        resource_id=data.resource.code, details={"report_id": row.id, **summary(a, req)}))
    return row


def risk_reports(*, session: Session, actor: Actor, resource_id: int) -> list[PrivacyRiskReport]:
    """Risk reports of a resource, newest first: for readers of its raw data only."""
    res = find_resource(session, str(resource_id))
    sources.require_raw_reader(actor, res, actions.RISK)
    return list(session.scalars(select(PrivacyRiskReport).where(PrivacyRiskReport.resource_id == res.id)
                                .order_by(PrivacyRiskReport.id.desc())))


def write_parquet_atomic(table: pa.Table, dest: Path) -> None:
    """Write ``table`` to ``dest`` through a temporary file and a rename (never half-written)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


# -- differential privacy ------------------------------------------------------------------

def set_budget(*, session: Session, actor: Actor, data: BudgetSet) -> PrivacyDpBudget:
    require(actor, actions.DP_BUDGET)
    row = session.scalar(select(PrivacyDpBudget).where(PrivacyDpBudget.consumer == data.consumer))
    if row is None:
        row = PrivacyDpBudget(consumer=data.consumer, epsilon_total=data.epsilon_total, epsilon_spent=0.0)
        session.add(row)
    else:
        row.epsilon_total, row.updated_at = data.epsilon_total, utcnow()
    session.flush()
    record(session, actor, events.PrivacyDpBudget(
        resource_id=data.consumer, details={"epsilon_total": data.epsilon_total}))
    return row


def get_budget(session: Session, consumer: str) -> PrivacyDpBudget:
    row = session.scalar(select(PrivacyDpBudget).where(PrivacyDpBudget.consumer == consumer).with_for_update())
    if row is None:
        raise NotFound(f"用户“{consumer}”没有隐私预算；请平台管理员先分配（shudata privacy dp budget）",
                       f"{consumer!r} has no privacy budget; the platform admin must assign one first",
                       code="no_dp_budget")
    return row


def charge(session: Session, actor: Actor, epsilon: float, mechanism: str, description: str) -> PrivacyDpBudget:
    """Charge ``epsilon`` to the actor's budget, refusing (429) when it would be exceeded."""
    row = get_budget(session, actor.username)
    left = row.epsilon_total - row.epsilon_spent
    if epsilon > left + 1e-12:
        raise LimitExceeded(f"隐私预算不足：剩余 ε={left:.4g}，本次需要 ε={epsilon:g}",
                            f"Privacy budget exhausted: ε={left:.4g} left, this release needs ε={epsilon:g}",
                            code="dp_budget_exhausted", details={"left": left, "requested": epsilon})
    row.epsilon_spent += epsilon
    row.updated_at = utcnow()
    session.add(PrivacyDpSpend(budget_id=row.id, epsilon=epsilon, mechanism=mechanism, description=description[:2000],
                               actor=actor.username))
    session.flush()
    return row


def _column_values(settings: Settings, data: sources.ResourceData, column: str, kind: str,
                   lower: float | None, upper: float | None) -> Sequence[Any]:
    schema = sources.sample_table(settings, data.source, 1).schema
    if column not in schema.names:
        raise InvalidInput(f"列“{column}”不存在", f"Column {column!r} does not exist", code="unknown_column")
    col = exp.column(column, quoted=True)
    expr = exp.cast(col, "DOUBLE") if kind in ("sum", "mean") else exp.cast(col, "VARCHAR")
    sql = exp.select(expr.as_("v", quoted=True)).from_(sources.TABLE).sql("duckdb")
    out = sources.engine(settings).query(sql, {sources.TABLE: data.source}, Limits(timeout_s=600)).column(0)
    values = out.drop_null().to_numpy(zero_copy_only=False) if kind in ("sum", "mean") else out.to_pylist()
    return values


def dp_release(*, session: Session, actor: Actor, settings: Settings, resource: str, query: DpQuery) -> dp.DpResult:
    """A differentially private aggregate of a resource, charged to the caller's budget first."""
    require(actor, actions.DP_QUERY)
    data = sources.resource_data(session, settings, actor, resource, query.version, actions.DP_QUERY)
    if query.kind != "count" and not query.column:
        raise InvalidInput("该统计需要指定列", "This aggregate needs a column", code="dp_column")
    desc = f"{query.kind}({query.column or '*'}) of {data.label}"
    charge(session, actor, query.epsilon, "laplace", desc)
    if query.kind == "count":
        n = data.version.rows if data.version.rows else len(sources.whole_table(settings, data.source))
        res = dp.dp_count(range(n), epsilon=query.epsilon)
    else:
        if query.column is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("query.column is unexpectedly None")
        values = _column_values(settings, data, query.column, query.kind, query.lower, query.upper)
        if query.kind == "sum":
            res = dp.dp_sum(values, epsilon=query.epsilon, lower=query.lower, upper=query.upper)
        elif query.kind == "mean":
            res = dp.dp_mean(values, epsilon=query.epsilon, lower=query.lower, upper=query.upper)
        else:
            res = dp.dp_histogram(values, epsilon=query.epsilon, bins=query.bins)
    record(session, actor, events.PrivacyDpRelease(
        resource_id=data.resource.code,
        details={"kind": query.kind, "column": query.column, "epsilon": query.epsilon}))
    return res


