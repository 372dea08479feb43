"""The analysis services: indicators (define, list as a tree, show, values, trace, recompute), layouts,
alert rules, the alert log (list, acknowledge), subscriptions and in-app notices.

Every function checks its action first (:mod:`shudata.analysis.actions`); an indicator the actor may
not see is a 404. Definition changes, recomputes, layout declarations, rule changes, acknowledgements
and subscriptions are audited in the transaction of the change.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shudata.analysis import alerts, formulas, recompute, store
from shudata.analysis.access import can_see, ref, require_see, visible_clause
from shudata.analysis.actions import ALERT_ACK, ALERT_SUBSCRIBE, INDICATOR_MANAGE
from shudata.analysis.forecast import forecast
from shudata.analysis.indicators import FormulaDefinition, SeriesDefinition, SqlDefinition, order, parse_definition
from shudata.analysis.models import (
    AnalysisAlert,
    AnalysisAlertRule,
    AnalysisDelivery,
    AnalysisIndicator,
    AnalysisLayout,
    AnalysisSubscription,
    AnalysisValue,
)
from shudata.analysis.schemas import (
    AlertRead,
    AlertsPage,
    IndicatorRead,
    IndicatorWrite,
    NoticeRead,
    RecomputeRead,
    RuleRead,
    RuleWrite,
    SubscriptionRead,
    SubscriptionWrite,
    ValueRead,
    ValuesPage,
)
from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import can_read_data, find_resource, resource_ref
from shudata.catalog.actions import RESOURCE_EDIT
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.textsafe import require_plain_text
from shudata.core.types import Actor, ResourceRef
from shudata.lake.service import latest_version
from shudata.security.authz import require
from shudata.security.models import Department

# -- indicators --------------------------------------------------------------------------------------


def get_indicator(session: Session, actor: Actor, code: str) -> AnalysisIndicator:
    ind = session.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == code))
    if ind is None:
        raise NotFound(f"没有指标 {code}", f"No indicator {code}", code="analysis_indicator_not_found")
    require_see(actor, ind)
    return ind


def _read(session: Session, ind: AnalysisIndicator, counts: dict[int, int] | None = None,
          codes: dict[int, str] | None = None, depts: dict[int, str] | None = None) -> IndicatorRead:
    parent = None
    if ind.parent_id is not None:
        parent = (codes or {}).get(ind.parent_id) or session.scalar(
            select(AnalysisIndicator.code).where(AnalysisIndicator.id == ind.parent_id))
    dept = (depts or {}).get(ind.owner_department_id) or session.scalar(
        select(Department.name).where(Department.id == ind.owner_department_id))
    n = counts.get(ind.id, 0) if counts is not None else session.scalar(
        select(func.count()).select_from(AnalysisValue).where(AnalysisValue.indicator_id == ind.id)) or 0
    return IndicatorRead(code=ind.code, name=ind.name, name_en=ind.name_en, unit=ind.unit, frequency=ind.frequency,
                         region_level=ind.region_level, parent=parent, level=ind.level, kind=ind.kind,
                         definition=ind.definition, description=ind.description,
                         owner_department_id=ind.owner_department_id, owner_department=dept,
                         publication=ind.publication, computed_at=ind.computed_at, compute_error=ind.compute_error,
                         values=n)


def show_indicator(session: Session, actor: Actor, code: str) -> IndicatorRead:
    return _read(session, get_indicator(session, actor, code))


def list_indicators(session: Session, actor: Actor, *, tree: bool = True) -> list[IndicatorRead]:
    """The indicators ``actor`` sees, as a tree (roots with ``children``) or flat, in hierarchy order.
    A visible indicator under an invisible parent is a root."""
    inds = list(session.scalars(select(AnalysisIndicator).where(visible_clause(actor))
                                .order_by(AnalysisIndicator.level, AnalysisIndicator.sort, AnalysisIndicator.code)))
    counts: dict[int, int] = {r[0]: r[1] for r in session.execute(
        select(AnalysisValue.indicator_id, func.count()).group_by(AnalysisValue.indicator_id))}
    codes = {i.id: i.code for i in inds}
    depts: dict[int, str] = {r[0]: r[1] for r in session.execute(select(Department.id, Department.name))}
    reads = {i.id: _read(session, i, counts, codes, depts) for i in inds}
    if not tree:
        return list(reads.values())
    roots: list[IndicatorRead] = []
    for i in inds:
        if i.parent_id in reads:
            reads[i.parent_id].children.append(reads[i.id])
        else:
            roots.append(reads[i.id])
    return roots


def _owner(session: Session, actor: Actor, data: IndicatorWrite) -> int:
    dept = data.owner_department_id or actor.department_id
    if dept is None or session.get(Department, dept) is None:
        raise InvalidInput("请指定指标的所属部门（owner_department_id）", "Name the owner department",
                           code="analysis_no_owner")
    return dept


def _check(session: Session, ind: AnalysisIndicator) -> None:
    """The definition parses, its inputs exist, and the whole system still has a dependency order."""
    d = parse_definition(ind.definition)
    ind.kind = d.kind
    if isinstance(d, FormulaDefinition):
        for code in d.inputs:
            if code == ind.code:
                raise Conflict(f"指标 {code} 不能引用自身", f"Indicator {code} cannot use itself",
                               code="analysis_cycle")
            if session.scalar(select(AnalysisIndicator.id).where(AnalysisIndicator.code == code)) is None:
                raise InvalidInput(f"公式引用的指标 {code} 不存在", f"The formula's input {code} does not exist",
                                   code="analysis_unknown_input")
    deps: dict[str, set[str]] = {}
    for other in session.scalars(select(AnalysisIndicator)):
        od = parse_definition(other.definition)
        deps[other.code] = set(od.inputs) if isinstance(od, FormulaDefinition) else set()
    deps[ind.code] = set(d.inputs) if isinstance(d, FormulaDefinition) else set()
    order(deps)
    _check_release(session, ind, d, deps)


def _unchecked(ind: AnalysisIndicator) -> bool:
    """An SQL or formula indicator published internal only: its values never passed the release rules."""
    return ind.publication == "internal" and ind.kind in ("sql", "formula")


def _check_release(session: Session, ind: AnalysisIndicator, d: Any, deps: dict[str, set[str]]) -> None:
    """An SQL indicator published beyond its owner passes the release rules (:func:`store.release_check`);
    a formula is published no wider than internal when an input is an unchecked (internal) SQL or formula
    indicator, and such an input cannot become internal while a wider formula uses it."""
    if isinstance(d, SqlDefinition):
        store.release_check(session, ind, d)
    by_code = {i.code: i for i in session.scalars(select(AnalysisIndicator))}
    if isinstance(d, FormulaDefinition) and ind.publication != "internal":
        bad = [c for c in d.inputs if c in by_code and _unchecked(by_code[c])]
        if bad:
            raise store.IndicatorReleaseRefused(
                f"指标“{ind.name}”发布范围为 {ind.publication}，但输入指标 {'、'.join(bad)} 仅本部门可见（internal），"
                "其值未经发布规则检查：请先扩大输入指标的发布范围（将检查其定义）或将本指标设为 internal",
                f"Indicator {ind.code} is published as {ind.publication} but its input(s) {', '.join(bad)} are "
                "internal and unchecked: publish the inputs wider first (their definitions are checked) or publish "
                "this one as internal", rule="formula_inputs", inputs=bad)
    if _unchecked(ind):
        users = sorted(c for c, ins in deps.items() if ind.code in ins and c in by_code and c != ind.code
                       and by_code[c].publication != "internal")
        if users:
            raise store.IndicatorReleaseRefused(
                f"指标“{ind.name}”不能设为仅本部门可见（internal）：发布范围更广的公式指标 {'、'.join(users)} 使用它",
                f"Indicator {ind.code} cannot become internal: the wider published formula(s) {', '.join(users)} "
                "use it", rule="formula_inputs", users=users)


def _place(session: Session, ind: AnalysisIndicator, parent: str | None) -> None:
    if parent is None:
        ind.parent_id, ind.level = None, 1
        return
    p = session.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == parent))
    if p is None:
        raise InvalidInput(f"上级指标 {parent} 不存在", f"No parent indicator {parent}", code="analysis_unknown_parent")
    seen: set[str] = {ind.code}
    cur: AnalysisIndicator | None = p
    while cur is not None:
        if cur.code in seen:
            raise Conflict("指标层级不能成环", "The hierarchy cannot loop", code="analysis_cycle")
        seen.add(cur.code)
        cur = session.get(AnalysisIndicator, cur.parent_id) if cur.parent_id else None
    if p.level >= 3:
        raise InvalidInput("指标层级最多三级", "The hierarchy has at most three levels", code="analysis_too_deep")
    ind.parent_id, ind.level = p.id, p.level + 1


def create_indicator(session: Session, actor: Actor, data: IndicatorWrite) -> IndicatorRead:
    dept = _owner(session, actor, data)
    require(actor, INDICATOR_MANAGE, ResourceRef("analysis.indicator", data.code, department_id=dept))
    if session.scalar(select(AnalysisIndicator.id).where(AnalysisIndicator.code == data.code)) is not None:
        raise Conflict(f"指标代码 {data.code} 已存在", f"Indicator code {data.code} is taken",
                       code="analysis_code_taken")
    ind = AnalysisIndicator(code=data.code, name=data.name, name_en=data.name_en, unit=data.unit,
                            frequency=data.frequency, region_level=data.region_level, kind="group",
                            definition=data.definition, description=data.description, owner_department_id=dept,
                            publication=data.publication, sort=data.sort, created_by=actor.username)
    _place(session, ind, data.parent)
    _check(session, ind)
    session.add(ind)
    session.flush()
    record(session, actor, events.AnalysisIndicatorCreate(resource_id=ind.code, details={
        "name": ind.name, "kind": ind.kind, "owner_department_id": dept, "publication": ind.publication,
        "definition": ind.definition, "parent": data.parent}))
    return _read(session, ind)


_FIELDS = ("name", "name_en", "unit", "frequency", "region_level", "definition", "description", "publication", "sort")


def update_indicator(session: Session, actor: Actor, code: str, data: IndicatorWrite) -> IndicatorRead:
    ind = get_indicator(session, actor, code)
    require(actor, INDICATOR_MANAGE, ref(ind))
    if data.code != code:
        raise InvalidInput("指标代码不能修改", "An indicator's code cannot change", code="analysis_code_fixed")
    changed: dict[str, Any] = {}
    for f in _FIELDS:
        new = getattr(data, f)
        if getattr(ind, f) != new:
            changed[f] = {"old": getattr(ind, f), "new": new}
            setattr(ind, f, new)
    if data.owner_department_id and data.owner_department_id != ind.owner_department_id:
        require(actor, INDICATOR_MANAGE, ResourceRef("analysis.indicator", code,
                                                     department_id=data.owner_department_id))
        changed["owner_department_id"] = {"old": ind.owner_department_id, "new": data.owner_department_id}
        ind.owner_department_id = data.owner_department_id
    old_parent = ind.parent_id
    _place(session, ind, data.parent)
    if ind.parent_id != old_parent:
        changed["parent"] = {"new": data.parent}
    _check(session, ind)
    if not changed:
        return _read(session, ind)
    ind.revision += 1
    ind.updated_at = utcnow()
    session.flush()
    record(session, actor, events.AnalysisIndicatorUpdate(resource_id=ind.code, details={
        "changed": changed, "revision": ind.revision}))
    return _read(session, ind)


def delete_indicator(session: Session, actor: Actor, code: str) -> None:
    ind = get_indicator(session, actor, code)
    require(actor, INDICATOR_MANAGE, ref(ind))
    users = [i.code for i in session.scalars(select(AnalysisIndicator)) if code in getattr(
        parse_definition(i.definition), "inputs", [])]
    children = session.scalars(select(AnalysisIndicator.code).where(AnalysisIndicator.parent_id == ind.id)).all()
    if users or children:
        raise Conflict(f"指标 {code} 仍被使用：{'、'.join([*users, *children])}",
                       f"Indicator {code} is still used by {', '.join([*users, *children])}",
                       code="analysis_in_use")
    details = {"name": ind.name, "definition": ind.definition}
    for model in (AnalysisDelivery,):
        session.execute(delete(model).where(model.alert_id.in_(
            select(AnalysisAlert.id).where(AnalysisAlert.indicator_id == ind.id))))
    for m in (AnalysisAlert, AnalysisAlertRule, AnalysisValue):
        session.execute(delete(m).where(m.indicator_id == ind.id))
    session.execute(delete(AnalysisSubscription).where(AnalysisSubscription.indicator_id == ind.id))
    session.delete(ind)
    record(session, actor, events.AnalysisIndicatorDelete(resource_id=code, details=details))


def run_recompute(session: Session, settings: Settings, actor: Actor, code: str | None = None) -> RecomputeRead:
    """Recompute one indicator and its dependants (its owner department's stewards), or all (the platform)."""
    if code is None:
        require(actor, INDICATOR_MANAGE, ResourceRef("analysis.indicator", None, department_id=None))
        out = recompute.recompute(session, settings, actor, trigger="manual")
    else:
        ind = get_indicator(session, actor, code)
        require(actor, INDICATOR_MANAGE, ref(ind))
        out = recompute.recompute(session, settings, actor, codes=[code], trigger="manual")
    r = out.run
    return RecomputeRead(id=r.id, trigger=r.trigger, indicators=r.indicators, values=r.values, alerts=r.alerts,
                         errors=r.errors, seconds=r.seconds)


def values(session: Session, actor: Actor, code: str, *, region: str | None = None, site: str | None = None,
           period_from: str | None = None, period_to: str | None = None, offset: int = 0,
           limit: int = 500) -> ValuesPage:
    ind = get_indicator(session, actor, code)
    q = select(AnalysisValue).where(AnalysisValue.indicator_id == ind.id)
    if region:
        q = q.where(AnalysisValue.region_code == region)
    if site is not None:
        q = q.where(AnalysisValue.site == site)
    if period_from:
        q = q.where(AnalysisValue.period >= period_from)
    if period_to:
        q = q.where(AnalysisValue.period <= period_to)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(AnalysisValue.region_code, AnalysisValue.site, AnalysisValue.period_start)
                           .offset(offset).limit(limit))
    return ValuesPage(indicator=ind.code, unit=ind.unit, total=total, offset=offset, limit=limit, items=[
        ValueRead(region_code=v.region_code, region=v.region, site=v.site or None, period=v.period, value=v.value,
                  sources=v.sources or []) for v in rows])


def trace(session: Session, settings: Settings, actor: Actor, code: str, region: str, period: str,
          site: str = "") -> dict[str, Any]:
    """The source rows of one value. Its source cells are raw data of the source resources: shown only
    to who may read them raw (else the versions alone)."""
    ind = get_indicator(session, actor, code)
    v = store.value_row(session, ind, region, period, site)
    d = parse_definition(ind.definition)
    inputs = [c for c in getattr(d, "inputs", []) if _visible_code(session, actor, c)]
    out = store.trace(session, settings, ind, v, inputs,
                      cells_of=d.indicator if isinstance(d, SeriesDefinition) else None)
    readable = set()
    for s in v.sources or []:
        try:
            res = find_resource(session, s["code"])
        except NotFound:
            continue
        if can_read_data(actor, res) or res.open_type == "无条件开放":
            readable.add(s["code"])
    hidden = [c for c in out["cells"] if c["resource"] not in readable]
    out["cells"] = [c for c in out["cells"] if c["resource"] in readable]
    out["cells_hidden"] = len(hidden)
    return out


def _visible_code(session: Session, actor: Actor, code: str) -> bool:
    other = session.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == code))
    return other is not None and can_see(actor, other)


def series(session: Session, actor: Actor, code: str, region: str, site: str = "") -> dict[str, Any]:
    """One series with its 同比 / 环比 and a forecast (80 % interval) — the indicator page's chart data."""
    ind = get_indicator(session, actor, code)
    t = store.values_table(session, ind, region_code=region, site=site)
    rows = t.to_pylist()
    out: dict[str, Any] = {"indicator": ind.code, "name": ind.name, "unit": ind.unit, "region_code": region,
                           "periods": [r["period"] for r in rows], "values": [r["value"] for r in rows],
                           "yoy": [], "mom": [], "forecast": None}
    if not rows:
        return out
    if ind.frequency in ("年", "季", "月"):
        yoy = {r["period"]: r["value"] for r in formulas.yoy(t).to_pylist()}
        out["yoy"] = [yoy.get(p) for p in out["periods"]]
    if ind.frequency in ("季", "月", "日"):
        mom = {r["period"]: r["value"] for r in formulas.mom(t).to_pylist()}
        out["mom"] = [mom.get(p) for p in out["periods"]]
    season = {"月": 12, "季": 4, "年": 1}.get(ind.frequency)
    vals = [r["value"] for r in rows]
    if season and len(vals) >= max(8, 2 * season + 2) and all(v is not None for v in vals):
        key = (ind.id, region, site, ind.computed_at, len(vals))
        if key not in _FORECASTS:
            _FORECASTS[key] = _forecast([float(v) for v in vals], rows[-1], season)
            while len(_FORECASTS) > 256:
                _FORECASTS.pop(next(iter(_FORECASTS)))
        out["forecast"] = _FORECASTS[key]
    return out


# forecasts by (indicator, region, site, computed_at, length): a page view never refits an unchanged series
_FORECASTS: dict[tuple[Any, ...], dict[str, Any] | None] = {}


def _forecast(vals: list[float], last: dict[str, Any], season: int) -> dict[str, Any] | None:
    """ETS, Theta or seasonal naive chosen by a two-origin backtest on the last eight cycles (ten years for
    an annual series): what a page can afford; ``bench/analysis.py`` measures the full selection."""
    h = {12: 12, 4: 4, 1: 3}[season]
    tail = vals[-max(8 * season, 10):]
    try:
        fc = forecast(tail, h, season=season, level=0.8, candidates=("snaive", "ets", "theta"), origins_count=2)
    except (InvalidInput, ValueError, ArithmeticError):
        return None
    return {"model": fc.model, "level": fc.level, "periods": _next_periods(last, h, season),
            "mean": [float(x) for x in fc.mean], "lower": [float(x) for x in fc.lower],
            "upper": [float(x) for x in fc.upper]}


def _next_periods(last: dict[str, Any], h: int, season: int) -> list[str]:
    start = last["period_start"]
    out = []
    y, m = start.year, start.month
    for _ in range(h):
        if season == 12:
            m += 1
            if m > 12:
                y, m = y + 1, 1
            out.append(f"{y}-{m:02d}")
        elif season == 4:
            m += 3
            if m > 12:
                y, m = y + 1, m - 12
            out.append(f"{y}Q{(m - 1) // 3 + 1}")
        else:
            y += 1
            out.append(f"{y}")
    return out


# -- layouts -----------------------------------------------------------------------------------------


def declare_layout(session: Session, actor: Actor, resource_code: str, layout: dict[str, Any],
                   settings: Settings | None = None) -> dict[str, Any]:
    """A catalog resource declares its NBS / monitoring layout (its stewards); later versions get a long form.
    With ``settings``, a newest version that has none gets one from the lake's table
    (:func:`store.reshape_stored_version`; a layout that cannot read it is refused, 422, nothing saved)."""
    res = find_resource(session, resource_code)
    require(actor, RESOURCE_EDIT, resource_ref(res))
    parsed = store.parse_layout(layout)
    doc = parsed.model_dump(mode="json")
    row = store.layout_of(session, res.id)
    if row is None:
        session.add(AnalysisLayout(resource_id=res.id, layout=doc, created_by=actor.username))
    else:
        row.layout = doc
    session.flush()
    details: dict[str, Any] = {"layout": doc}
    v = latest_version(session, res.id)
    if settings is not None and v is not None and not store.long_path(settings, res.id, v.version).is_file():
        details["reshaped_version"] = v.version
        details["long_rows"] = store.reshape_stored_version(session, settings, res.id, v.version)
    record(session, actor, events.AnalysisLayoutDeclare(resource_id=res.code, details=details))
    return doc


# -- rules -------------------------------------------------------------------------------------------


def _rule_read(r: AnalysisAlertRule, code: str) -> RuleRead:
    return RuleRead.model_validate({"id": r.id, "indicator": code, "name": r.name, "kind": r.kind,
                                    "params": r.params, "severity": r.severity, "enabled": r.enabled})


def list_rules(session: Session, actor: Actor, code: str) -> list[RuleRead]:
    ind = get_indicator(session, actor, code)
    return [_rule_read(r, code) for r in session.scalars(
        select(AnalysisAlertRule).where(AnalysisAlertRule.indicator_id == ind.id).order_by(AnalysisAlertRule.id))]


def create_rule(session: Session, actor: Actor, code: str, data: RuleWrite) -> RuleRead:
    ind = get_indicator(session, actor, code)
    require(actor, INDICATOR_MANAGE, ref(ind))
    alerts.check_rule(data.kind, data.params, data.severity)
    r = AnalysisAlertRule(indicator_id=ind.id, name=data.name, kind=data.kind, params=data.params,
                          severity=data.severity, created_by=actor.username)
    session.add(r)
    session.flush()
    record(session, actor, events.AnalysisRuleCreate(resource_id=str(r.id), details={
        "indicator": code, "kind": r.kind, "params": r.params, "severity": r.severity}))
    return _rule_read(r, code)


def delete_rule(session: Session, actor: Actor, code: str, rule_id: int) -> None:
    ind = get_indicator(session, actor, code)
    require(actor, INDICATOR_MANAGE, ref(ind))
    r = session.get(AnalysisAlertRule, rule_id)
    if r is None or r.indicator_id != ind.id:
        raise NotFound(f"指标 {code} 没有规则 {rule_id}", f"No rule {rule_id} on {code}",
                       code="analysis_rule_not_found")
    record(session, actor, events.AnalysisRuleDelete(resource_id=str(r.id), details={
        "indicator": code, "kind": r.kind, "params": r.params}))
    session.delete(r)


# -- alerts ------------------------------------------------------------------------------------------


def _alert_read(a: AnalysisAlert, ind: AnalysisIndicator) -> AlertRead:
    return AlertRead(id=a.id, indicator=ind.code, indicator_name=ind.name, kind=a.kind, severity=a.severity,
                     region_code=a.region_code, region=a.region, site=a.site or None, period=a.period, value=a.value,
                     message=a.message_zh, message_en=a.message_en, created_at=a.created_at,
                     acknowledged_by=a.acknowledged_by, acknowledged_at=a.acknowledged_at, ack_comment=a.ack_comment)


def list_alerts(session: Session, actor: Actor, *, indicator: str | None = None, open_only: bool = False,
                severity: str | None = None, offset: int = 0, limit: int = 50) -> AlertsPage:
    """The alert log entries of the indicators ``actor`` sees, newest first."""
    q = (select(AnalysisAlert, AnalysisIndicator).join(AnalysisIndicator, AnalysisIndicator.id ==
                                                       AnalysisAlert.indicator_id).where(visible_clause(actor)))
    if indicator:
        q = q.where(AnalysisIndicator.code == indicator)
    if open_only:
        q = q.where(AnalysisAlert.acknowledged_at.is_(None))
    if severity:
        q = q.where(AnalysisAlert.severity == severity)
    total = session.scalar(select(func.count()).select_from(q.with_only_columns(AnalysisAlert.id).subquery())) or 0
    rows = session.execute(q.order_by(AnalysisAlert.id.desc()).offset(offset).limit(limit)).all()
    return AlertsPage(items=[_alert_read(a, i) for a, i in rows], total=total, offset=offset, limit=limit)


def ack_alert(session: Session, actor: Actor, alert_id: int, comment: str | None = None) -> AlertRead:
    require_plain_text(comment, "comment")
    a = session.get(AnalysisAlert, alert_id)
    ind = session.get(AnalysisIndicator, a.indicator_id) if a is not None else None
    if a is None or ind is None or not can_see(actor, ind):
        raise NotFound(f"没有预警 {alert_id}", f"No alert {alert_id}", code="analysis_alert_not_found")
    require(actor, ALERT_ACK, ref(ind))
    if a.acknowledged_at is not None:
        raise Conflict(f"该预警已由 {a.acknowledged_by} 于 {a.acknowledged_at:%Y-%m-%d %H:%M} 确认",
                       f"Already acknowledged by {a.acknowledged_by}", code="analysis_alert_acknowledged")
    a.acknowledged_by, a.acknowledged_at, a.ack_comment = actor.username, utcnow(), comment
    session.execute(update(AnalysisDelivery).where(
        AnalysisDelivery.alert_id == a.id, AnalysisDelivery.status == "unread").values(status="read"))
    session.flush()
    record(session, actor, events.AnalysisAlertAck(resource_id=str(a.id), details={
        "indicator": ind.code, "region_code": a.region_code, "period": a.period, "comment": comment}))
    return _alert_read(a, ind)


# -- subscriptions and notices -----------------------------------------------------------------------


def _user_id(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied("订阅预警需要以平台账号登录", "Subscribing needs a platform account",
                               code="permission_denied", details={"action": ALERT_SUBSCRIBE.name})
    return actor.user_id


def _sub_read(session: Session, s: AnalysisSubscription) -> SubscriptionRead:
    code = session.scalar(select(AnalysisIndicator.code).where(AnalysisIndicator.id == s.indicator_id)) \
        if s.indicator_id else None
    return SubscriptionRead(id=s.id, channel=s.channel, indicator=code, url=s.url, min_severity=s.min_severity,
                            enabled=s.enabled, created_at=s.created_at)


def subscribe(session: Session, settings: Settings, actor: Actor, data: SubscriptionWrite) -> SubscriptionRead:
    require(actor, ALERT_SUBSCRIBE)
    uid = _user_id(actor)
    ind_id = None
    if data.indicator:
        ind_id = get_indicator(session, actor, data.indicator).id
    url = None
    if data.channel == "webhook":
        if not data.url:
            raise InvalidInput("Webhook 订阅需要地址 url", "A webhook subscription needs a url",
                               code="analysis_bad_webhook")
        alerts.check_webhook_url(data.url, allow_private=settings.analysis_webhook_allow_private)
        url = data.url
    s = AnalysisSubscription(user_id=uid, indicator_id=ind_id, channel=data.channel, url=url,
                             min_severity=data.min_severity)
    session.add(s)
    session.flush()
    record(session, actor, events.AnalysisSubscriptionCreate(resource_id=str(s.id), details={
        "channel": s.channel, "indicator": data.indicator, "host": urlsplit(url).hostname if url else None,
        "min_severity": s.min_severity}))
    return _sub_read(session, s)


def list_subscriptions(session: Session, actor: Actor) -> list[SubscriptionRead]:
    require(actor, ALERT_SUBSCRIBE)
    uid = _user_id(actor)
    return [_sub_read(session, s) for s in session.scalars(
        select(AnalysisSubscription).where(AnalysisSubscription.user_id == uid).order_by(AnalysisSubscription.id))]


def unsubscribe(session: Session, actor: Actor, sub_id: int) -> None:
    require(actor, ALERT_SUBSCRIBE)
    s = session.get(AnalysisSubscription, sub_id)
    if s is None or s.user_id != _user_id(actor):
        raise NotFound(f"没有订阅 {sub_id}", f"No subscription {sub_id}", code="analysis_subscription_not_found")
    session.execute(delete(AnalysisDelivery).where(AnalysisDelivery.subscription_id == s.id))
    session.delete(s)
    record(session, actor, events.AnalysisSubscriptionDelete(resource_id=str(sub_id)))


def notices(session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 100) -> list[NoticeRead]:
    """The user's deliveries (in-app notices and webhook records), newest first."""
    require(actor, ALERT_SUBSCRIBE)
    uid = _user_id(actor)
    q = (select(AnalysisDelivery, AnalysisAlert, AnalysisIndicator)
         .join(AnalysisAlert, AnalysisAlert.id == AnalysisDelivery.alert_id)
         .join(AnalysisIndicator, AnalysisIndicator.id == AnalysisAlert.indicator_id)
         .where(AnalysisDelivery.user_id == uid))
    if unread_only:
        q = q.where(AnalysisDelivery.status == "unread")
    out = []
    for d, a, ind in session.execute(q.order_by(AnalysisDelivery.id.desc()).limit(limit)):
        if can_see(actor, ind):
            out.append(NoticeRead(id=d.id, alert=_alert_read(a, ind), channel=d.channel, status=d.status,
                                  attempts=d.attempts, log=d.log or []))
    return out


def regions_of(session: Session, actor: Actor, code: str) -> list[dict[str, Any]]:
    """The (region, site) series of an indicator with their number of values, by region code."""
    ind = get_indicator(session, actor, code)
    rows = session.execute(select(AnalysisValue.region_code, func.max(AnalysisValue.region), AnalysisValue.site,
                                  func.count()).where(AnalysisValue.indicator_id == ind.id)
                           .group_by(AnalysisValue.region_code, AnalysisValue.site)
                           .order_by(AnalysisValue.region_code, AnalysisValue.site)).all()
    return [{"region_code": r[0], "region": r[1] or r[0], "site": r[2], "count": r[3]} for r in rows]


def indicator_rows(session: Session, codes: list[str]) -> list[AnalysisIndicator]:
    """The indicator rows of ``codes`` (the caller checks what the actor may do with them)."""
    return list(session.scalars(select(AnalysisIndicator).where(AnalysisIndicator.code.in_(set(codes))))) \
        if codes else []


def dependency_order(session: Session) -> list[str]:
    """Every indicator code in computation order (docs, CLI)."""
    return [c for c in order(recompute.graph(session).deps)]
