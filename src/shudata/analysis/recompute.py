"""Recomputing indicators: the affected ones and their dependants, in dependency order.

A new data version of a catalog resource (the ``after_ingest`` hook, :mod:`shudata.analysis.hooks`)
recomputes the indicators defined on it (SQL naming it, series of its long form) and every formula
that uses them, transitively; a manual recompute names the indicators (or all). Each indicator's new
values replace its old ones; the alert rules and the anomaly detector then look at the periods that
are new or changed, the alert log gets the alerts and the subscriptions their deliveries. An indicator
whose computation fails keeps its previous values and shows the error (``compute_error``); the others
go on. One :class:`~shudata.analysis.models.AnalysisRecompute` row and one audit event per run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.analysis import alerts, store
from shudata.analysis.indicators import (
    FormulaDefinition,
    GroupDefinition,
    SeriesDefinition,
    SqlDefinition,
    dependants,
    order,
    parse_definition,
    sql_tables,
)
from shudata.analysis.models import AnalysisIndicator, AnalysisRecompute, AnalysisValue
from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import NotFound, ShudataError
from shudata.core.types import Actor


@dataclass
class Graph:
    """Every indicator by code, what each depends on (indicator codes) and which resources it reads."""

    by_code: dict[str, AnalysisIndicator]
    deps: dict[str, set[str]]
    reads: dict[str, set[int]] = field(default_factory=dict)


def _names(session: Session) -> dict[str, int]:
    """Resource code, alias and name -> id, for every catalog entry (one query for the whole graph)."""
    out: dict[str, int] = {}
    rows = session.execute(select(CatalogResource.id, CatalogResource.code, CatalogResource.alias,
                                  CatalogResource.name).where(CatalogResource.is_deleted.is_(False))).all()
    for rid, _code, _alias, name in rows:  # codes win over aliases, aliases over names
        out.setdefault(name, rid)
    for rid, _code, alias, _name in rows:
        if alias:
            out[alias] = rid
    for rid, code, _alias, _name in rows:
        out[code] = rid
    return out


def resource_ids(session: Session, ind: AnalysisIndicator, names: dict[str, int] | None = None) -> set[int]:
    """The catalog resources an SQL or series indicator reads (names that do not resolve are skipped:
    computing it will say so)."""
    names = names if names is not None else _names(session)
    d = parse_definition(ind.definition)
    refs: list[str] = []
    if isinstance(d, SqlDefinition):
        refs = sql_tables(d.sql)
    elif isinstance(d, SeriesDefinition):
        refs = [d.resource]
    return {names[n] for n in refs if n in names}


def graph(session: Session) -> Graph:
    by_code = {i.code: i for i in session.scalars(select(AnalysisIndicator))}
    deps: dict[str, set[str]] = {}
    reads: dict[str, set[int]] = {}
    names = _names(session) if by_code else {}
    for code, ind in by_code.items():
        d = parse_definition(ind.definition)
        deps[code] = set(d.inputs) if isinstance(d, FormulaDefinition) else set()
        reads[code] = resource_ids(session, ind, names) if isinstance(d, SqlDefinition | SeriesDefinition) else set()
    return Graph(by_code, deps, reads)


@dataclass
class Outcome:
    run: AnalysisRecompute
    computed: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)


def _compute(session: Session, settings: Settings, ind: AnalysisIndicator,
             tables: dict[str, pa.Table]) -> tuple[pa.Table, store.Sources] | None:
    d = parse_definition(ind.definition)
    if isinstance(d, GroupDefinition):
        return None
    if isinstance(d, SqlDefinition):
        return store.compute_sql(session, settings, ind, d)
    if isinstance(d, SeriesDefinition):
        t, src = store.compute_series(session, settings, ind, d)
        return _named(t, ind), src
    inputs = []
    sources: dict[tuple[int, int], dict[str, Any]] = {}
    for code in d.inputs:
        other = session.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == code))
        if other is None:
            raise NotFound(f"公式引用的指标 {code} 不存在", f"The formula's input {code} does not exist",
                           code="analysis_indicator_not_found")
        t = tables.get(code)
        if t is None:
            t = store.values_table(session, other)
            tables[code] = t
        inputs.append(t)
        for s in _sources_of(session, other):
            sources[(int(s["resource_id"]), int(s["version"]))] = s
    return _named(store.compute_formula(ind, d, inputs), ind), list(sources.values())


def _named(t: pa.Table, ind: AnalysisIndicator) -> pa.Table:
    """The table under the indicator's own name and unit (the rules and the formulas of its users read them)."""
    t = t.set_column(t.schema.get_field_index("indicator"), "indicator", pa.array([ind.name] * t.num_rows, pa.string()))
    return t.set_column(t.schema.get_field_index("unit"), "unit", pa.array([ind.unit] * t.num_rows, pa.string()))


def _sources_of(session: Session, ind: AnalysisIndicator) -> list[dict[str, Any]]:
    first = session.scalar(select(AnalysisValue.sources).where(AnalysisValue.indicator_id == ind.id).limit(1))
    return list(first or [])


def recompute(session: Session, settings: Settings, actor: Actor, *, codes: Iterable[str] | None = None,
              resource_id: int | None = None, version: int | None = None, trigger: str = "manual",
              with_dependants: bool = True, g: Graph | None = None) -> Outcome:
    """Recompute ``codes`` (default: all) or the indicators reading ``resource_id``, with their dependants."""
    started = time.perf_counter()
    g = g or graph(session)
    if resource_id is not None:
        start = {c for c, r in g.reads.items() if resource_id in r}
    elif codes is not None:
        start = set(codes)
        unknown = start - set(g.by_code)
        if unknown:
            raise NotFound(f"没有指标 {'、'.join(sorted(unknown))}", f"No indicator {', '.join(sorted(unknown))}",
                           code="analysis_indicator_not_found")
    else:
        start = set(g.by_code)
    todo = dependants(g.deps, start) if with_dependants else start
    sequence = [c for c in order(g.deps) if c in todo]
    run = AnalysisRecompute(trigger=trigger, resource_id=resource_id, version=version, indicators=[], values=0,
                            alerts=0, errors=[], seconds=0.0, created_by=actor.username)
    session.add(run)
    session.flush()
    out = Outcome(run)
    tables: dict[str, pa.Table] = {}
    failed: set[str] = set()
    values = 0
    for code in sequence:
        ind = g.by_code[code]
        if g.deps[code] & failed:
            failed.add(code)
            out.errors.append({"indicator": code, "error": "输入指标计算失败 / an input failed"})
            continue
        try:
            with session.begin_nested():
                got = _compute(session, settings, ind, tables)
                if got is None:
                    continue
                table, sources = got
                before = store.write_values(session, ind, table, sources)
        except ShudataError as exc:
            failed.add(code)
            ind.compute_error = exc.zh
            out.errors.append({"indicator": code, "error": exc.zh, "code": exc.code})
            continue
        tables[code] = table
        ind.computed_at, ind.compute_error = utcnow(), None
        values += table.num_rows
        out.computed.append(code)
        raised = alerts.evaluate(session, ind, tables[code], alerts.fresh_keys(table, before), run.id)
        alerts.notify(session, settings, ind, raised)
        out.alerts += [a.id for a in raised]
    run.indicators, run.values, run.alerts, run.errors = out.computed, values, len(out.alerts), out.errors
    run.seconds = round(time.perf_counter() - started, 3)
    session.flush()
    record(session, actor, events.AnalysisRecompute(resource_id=str(run.id), details={
        "trigger": trigger, "resource_id": resource_id, "version": version, "indicators": out.computed,
        "values": values, "alerts": len(out.alerts), "errors": out.errors, "seconds": run.seconds}))
    return out
