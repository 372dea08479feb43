"""The indicator store: long forms of layout resources, computing one indicator, its values, tracing.

- A catalog resource that declares a layout (:class:`~shudata.analysis.models.AnalysisLayout`) keeps its
  raw file as the lake version it always was; on ingest its long form (one row per published cell, with
  the file row and column) is written beside, under ``data_dir/analysis/long/<resource>/v<version>.parquet``.
- An indicator is computed as its owner department (:func:`owner_actor`): an SQL definition runs through
  the SQL sandbox (:func:`shudata.query.service.run_query`) exactly as a query of that department —
  its grants and masking apply; a ``series`` definition reads a long form only when the department
  reads the resource raw and unrestricted (otherwise: write it as SQL, through the grant).
- An SQL indicator published beyond its owner department (``publication`` not ``internal``) passes the
  release rules of data usable but not visible (:mod:`shudata.query.release`), unless every table it
  reads is a statistical table (declares a layout) that is itself 无条件开放: aggregates only, grouped
  by its ``region``/``region_code``/``period`` outputs only (:func:`release_check`, when defined or
  changed), and each published value aggregates at least ``SHUDATA_ANALYSIS_MIN_GROUP`` rows (checked
  on every compute; nothing is written otherwise).
- Values replace the indicator's previous values in one transaction, each with the lake versions it
  came from and, when known, the source file rows (:func:`trace`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import TypeAdapter
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from sqlglot import exp

from shudata.analysis import formulas
from shudata.analysis.indicators import FormulaDefinition, SeriesDefinition, SqlDefinition, sql_tables
from shudata.analysis.layouts import (
    LONG_SCHEMA,
    NATIONAL_CODE,
    NATIONAL_NAME,
    Layout,
    parse_period,
    region_code,
    reshape,
    reshape_nbs,
    reshape_table,
)
from shudata.analysis.models import AnalysisIndicator, AnalysisLayout, AnalysisValue
from shudata.catalog.access import can_read_data, find_resource
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.plugins import plugins_of
from shudata.core.types import Actor
from shudata.lake.service import get_version, latest_version, version_files
from shudata.query.access import FULL_ACCESS
from shudata.query.policies import access_for
from shudata.query.release import GROUP_COUNT, Analysis, ReleaseRefused, analyse, group_counted
from shudata.query.service import run_query
from shudata.standards.regions import name_of

Sources = list[dict[str, Any]]
_LAYOUT: TypeAdapter[Any] = TypeAdapter(Layout)
_LEVEL = {"市州": "city", "区县": "city"}


def owner_actor(department_id: int) -> Actor:
    """The principal an indicator is computed as: its owner department, with a department user's rights
    (no person: ``指标计算@analysis``), so the department's grants and masking apply to what it reads."""
    return Actor.peer("analysis", department_id, "指标计算")


def analysis_dir(settings: Settings) -> Path:
    return settings.data_dir / "analysis"


def long_path(settings: Settings, resource_id: int, version: int) -> Path:
    return analysis_dir(settings) / "long" / str(resource_id) / f"v{version}.parquet"


def parse_layout(raw: dict[str, Any]) -> Any:
    try:
        return _LAYOUT.validate_python(raw)
    except Exception as exc:  # pydantic's ValidationError: the document is the caller's input
        raise InvalidInput(f"统计布局无效：{exc}", f"Invalid layout: {exc}", code="analysis_bad_layout") from None


def layout_of(session: Session, resource_id: int) -> AnalysisLayout | None:
    return session.scalar(select(AnalysisLayout).where(AnalysisLayout.resource_id == resource_id))


def reshape_version(session: Session, settings: Settings, resource_id: int, version: int, raw: bytes,
                    source_name: str) -> int | None:
    """Write the long form of a layout resource's new version (``raw``: the file as uploaded); the
    number of long rows, or ``None`` when the resource declares no layout. A file the layout cannot
    read refuses the ingest (422 with the cell), so a layout resource never has a version without it."""
    declared = layout_of(session, resource_id)
    if declared is None:
        return None
    out = reshape(raw, source_name, parse_layout(declared.layout))
    path = long_path(settings, resource_id, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(out.table, tmp)
    tmp.replace(path)
    return int(out.table.num_rows)


_LONG_CACHE: dict[tuple[str, int], pa.Table] = {}


def reshape_stored_version(session: Session, settings: Settings, resource_id: int, version: int) -> int:
    """The long form of a version ingested before its resource declared a layout, from the lake's table (the
    raw file is not kept): its columns are the header row and its rows the data rows, numbered as the file's
    lines when the version recorded its header row (title lines before it, footers after). The title lines
    are gone, so an NBS layout of a file whose rows are regions must name its ``indicator``."""
    declared = layout_of(session, resource_id)
    if declared is None:
        raise NotFound("该资源没有声明统计布局", "The resource declares no layout", code="analysis_no_layout")
    layout = parse_layout(declared.layout)
    v = get_version(session, resource_id, version)
    table = pa.concat_tables([pq.read_table(f) for f in version_files(settings, v)]) if version_files(
        settings, v) else pa.table({})
    first = (v.header_row or 1)
    rows: list[tuple[int, list[Any]]] = [(first, list(table.column_names))]
    for i, r in enumerate(table.to_pylist()):
        rows.append((first + 1 + i, [None if x is None else (x if isinstance(x, int | float) else str(x))
                                     for x in r.values()]))
    out = reshape_nbs(rows, layout) if layout.kind == "nbs" else reshape_table(rows, layout)
    path = long_path(settings, resource_id, v.version)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(out.table, tmp)
    tmp.replace(path)
    return int(out.table.num_rows)


def read_long(settings: Settings, resource_id: int, version: int) -> pa.Table:
    """The long form of a version (the last few read are kept: a recompute reads one many times)."""
    path = long_path(settings, resource_id, version)
    if not path.is_file():
        raise NotFound(f"资源第 {version} 版没有长表：该资源未声明统计布局，或布局声明晚于该版本（请重新上传）",
                       f"Version {version} of the resource has no long form: no layout was declared when it was "
                       "ingested (upload it again)", code="analysis_no_long_form")
    key = (str(path), path.stat().st_mtime_ns)
    hit = _LONG_CACHE.get(key)
    if hit is None:
        hit = pq.read_table(path)
        while len(_LONG_CACHE) >= 4:
            _LONG_CACHE.pop(next(iter(_LONG_CACHE)))
        _LONG_CACHE[key] = hit
    return hit


# -- computing ---------------------------------------------------------------------------------------


def _source(res: CatalogResource, version: int) -> dict[str, Any]:
    return {"resource_id": res.id, "code": res.code, "name": res.name, "version": version}


def compute_series(session: Session, settings: Settings, ind: AnalysisIndicator,
                   d: SeriesDefinition) -> tuple[pa.Table, Sources]:
    res = find_resource(session, d.resource)
    actor = owner_actor(ind.owner_department_id)
    if not can_read_data(actor, res) or access_for(plugins_of(session), session, settings, actor, res) != FULL_ACCESS:
        raise PermissionDenied(
            f"指标“{ind.name}”的所属部门不能不受限地读取“{res.name}”（{res.code}）的原始数据：请改用 SQL 定义，"
            "经共享授权读取脱敏数据",
            f"The owner department of {ind.code} does not read {res.code} raw and unrestricted: define the indicator "
            "in SQL, read through its sharing grant", code="analysis_source_denied",
            details={"action": "analysis.indicator.manage", "resource_type": "catalog.resource",
                     "resource_id": res.code})
    v = latest_version(session, res.id)
    if v is None:
        raise NotFound(f"资源“{res.name}”还没有数据版本", f"{res.code} has no data version yet",
                       code="analysis_no_data")
    t = read_long(settings, res.id, v.version)
    t = t.filter(pc.equal(t["indicator"], d.indicator))
    if d.region_code:
        t = t.filter(pc.equal(t["region_code"], d.region_code))
    if d.site:
        t = t.filter(pc.equal(t["site"], d.site))
    if t.num_rows == 0:
        raise InvalidInput(f"资源“{res.name}”第 {v.version} 版的长表中没有指标“{d.indicator}”",
                           f"The long form of {res.code} v{v.version} has no indicator {d.indicator!r}",
                           code="analysis_empty_series")
    if d.resample:
        t = formulas.resample(t, d.resample, how=d.how)
    return t, [_source(res, v.version)]


def _rows_of_query(session: Session, settings: Settings, actor: Actor,
                   sql: str) -> tuple[list[dict[str, Any]], Sources]:
    rows: list[dict[str, Any]] = []
    sources: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = run_query(session=session, settings=settings, actor=actor, sql=sql, offset=offset,
                         limit=settings.page_size_max, count=False)
        names = [c.name for c in page.columns]
        rows += [dict(zip(names, r, strict=True)) for r in page.rows]
        for t in page.tables:
            sources[t.code] = {"code": t.code, "name": t.name, "version": t.version,
                               **({"grant": t.grant} if t.grant is not None else {})}
        if page.truncated:
            raise InvalidInput(f"SQL 定义的结果超过 {page.max_rows} 行：请在 SQL 中汇总",
                               f"The SQL definition returns more than {page.max_rows} rows: aggregate in SQL",
                               code="analysis_too_many_rows")
        if page.next_offset is None:
            break
        offset = page.next_offset
    for s in sources.values():
        s["resource_id"] = find_resource(session, s["code"]).id
    return rows, list(sources.values())


def _canonical(label: str) -> tuple[str, str, dt.datetime] | None:
    """(frequency, period, start) of a canonical label (2024-03, 2024Q1, 2024-03-05, 2024-03-05T08)."""
    s = label.strip()
    try:
        if len(s) == 7 and s[4] == "-":
            return "月", s, dt.datetime(int(s[:4]), int(s[5:]), 1)
        if len(s) == 6 and s[4] == "Q" and s[5] in "1234":
            q = int(s[5])
            return "季", s, dt.datetime(int(s[:4]), 3 * q - 2, 1)
        if len(s) == 10:
            return "日", s, dt.datetime.strptime(s, "%Y-%m-%d")
        if len(s) == 13 and s[10] == "T":
            return "时", s, dt.datetime.strptime(s, "%Y-%m-%dT%H")
    except ValueError:
        return None
    return None


def _period_label(v: Any) -> str:
    if isinstance(v, dt.datetime | dt.date):
        return v.strftime("%Y-%m-%d") if isinstance(v, dt.date) and not isinstance(v, dt.datetime) \
            else v.strftime("%Y-%m-%dT%H")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


# -- release rules of indicators published beyond their owner ----------------------------------------

RELEASE_KEYS = ("region", "region_code", "period")
_OPEN = "无条件开放"


class IndicatorReleaseRefused(ReleaseRefused):
    """An indicator published beyond its owner department would release what the release rules refuse."""

    default_code = "analysis_release_refused"


def _refused(ind: AnalysisIndicator, err: ReleaseRefused) -> IndicatorReleaseRefused:
    return IndicatorReleaseRefused(
        f"指标“{ind.name}”发布范围为 {ind.publication}，须符合“数据可用不可见”的发布规则"
        f"（{err.details.get('rule')}）：{err.zh}；或将发布范围设为 internal（仅本部门）",
        f"Indicator {ind.code} is published as {ind.publication} and must pass the release rules "
        f"({err.details.get('rule')}): {err.en}; or publish it as internal",
        **err.details)


def reads_only_open(session: Session, sql: str) -> bool:
    """Whether every table ``sql`` reads is a statistical table that is itself 无条件开放: a catalog resource
    open unconditionally that declares a statistical layout (whose long form a ``series`` definition
    publishes as it is); an unknown name is not."""
    try:
        names = sql_tables(sql)
    except InvalidInput:
        return False
    for name in names:
        try:
            res = find_resource(session, name)
        except NotFound:
            return False
        if res.open_type != _OPEN or layout_of(session, res.id) is None:
            return False
    return bool(names)


def release_check(session: Session, ind: AnalysisIndicator, d: SqlDefinition) -> Analysis | None:
    """The release analysis of an SQL indicator published beyond its owner (``None``: internal, or reading
    only 无条件开放 statistical tables), or :class:`IndicatorReleaseRefused`: aggregates only (literals allowed), no
    aggregate that copies a row's value, and every GROUP BY key one of the ``region``/``region_code``/
    ``period`` outputs (the published keys are then region codes and periods, checked when computed)."""
    if ind.publication == "internal" or reads_only_open(session, d.sql):
        return None
    try:
        a = analyse(d.sql, constants=True)
    except ReleaseRefused as err:
        raise _refused(ind, err) from None
    for key in a.key_exprs:
        named = [p.alias_or_name for p in a.tree.expressions
                 if (p.this if isinstance(p, exp.Alias) else p) == key]
        if not any(n in RELEASE_KEYS for n in named):
            raise _refused(ind, ReleaseRefused(
                f"分组键“{key.sql('duckdb')}”不是输出列 region、region_code 或 period（只能按地区和时期分组）",
                f"GROUP BY key {key.sql('duckdb')!r} is not the region, region_code or period output "
                "(group by region and period only)", rule="group_keys", key=key.sql("duckdb")))
    return a


def compute_sql(session: Session, settings: Settings, ind: AnalysisIndicator,
                d: SqlDefinition) -> tuple[pa.Table, Sources]:
    checked = release_check(session, ind, d)
    sql = d.sql if checked is None else group_counted(checked).sql("duckdb")
    rows, sources = _rows_of_query(session, settings, owner_actor(ind.owner_department_id), sql)
    if checked is not None:
        _check_released(ind, rows, settings.analysis_min_group)
    if rows and ("period" not in rows[0] or "value" not in rows[0]
                 or ("region_code" not in rows[0] and "region" not in rows[0])):
        raise InvalidInput("SQL 定义须返回 period、value 及 region_code 或 region 列",
                           "The SQL definition must return period, value and region_code or region",
                           code="analysis_bad_sql_columns", details={"columns": list(rows[0])})
    level = _LEVEL.get(ind.region_level, "province")
    out: dict[str, list[Any]] = {f.name: [] for f in LONG_SCHEMA}
    for r in rows:
        label = _period_label(r["period"])
        parsed = parse_period(label) or _canonical(label)
        if parsed is None:
            raise InvalidInput(f"SQL 定义返回了无法识别的时期：{label}", f"Unknown period {label!r} in the SQL result",
                               code="analysis_bad_period")
        freq, period, start = parsed
        name = r.get("region")
        code = r.get("region_code")
        if code is None and name is not None:
            code = NATIONAL_CODE if str(name).strip() in ("全国", "") else region_code(str(name), level)
            if code is None:
                raise InvalidInput(f"SQL 定义返回了无法识别的地区：{name}",
                                   f"Unknown region {name!r} in the SQL result", code="analysis_bad_region")
        value = r["value"]
        if value is not None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"SQL 定义返回了非数值：{value!r}（{name or code} {label}）",
                                   f"Non-numeric value {value!r} in the SQL result",
                                   code="analysis_bad_value") from None
            if not math.isfinite(value):
                value = None
        if name is None:
            name = NATIONAL_NAME if str(code) == NATIONAL_CODE else (name_of(str(code)) or str(code))
        for k, v in (("indicator", ind.name), ("unit", ind.unit), ("region", name), ("region_code", str(code)),
                     ("site", r.get("site")), ("frequency", freq), ("period", period), ("period_start", start),
                     ("value", value), ("source_row", None), ("source_column", None)):
            out[k].append(v)
    return pa.Table.from_pydict(out, schema=LONG_SCHEMA), sources


def _check_released(ind: AnalysisIndicator, rows: list[dict[str, Any]], k: int) -> None:
    """Each published row aggregates at least ``k`` source rows and names a known region code (the
    counts are dropped from ``rows``)."""
    small = 0
    for r in rows:
        n = r.pop(GROUP_COUNT, None)
        if n is None or int(n) < k:
            small += 1
        code = r.get("region_code")
        if code is not None and str(code) != NATIONAL_CODE and name_of(str(code)) is None:
            raise _refused(ind, ReleaseRefused(
                f"region_code 列的值“{code}”不是行政区划代码（GB/T 2260）",
                f"region_code {code!r} is not an administrative division code (GB/T 2260)",
                rule="region_code", value=str(code)))
    if small:
        raise _refused(ind, ReleaseRefused(
            f"有 {small} 个地区和时期的值汇总的记录少于最小分组规模 {k} 条，结果不予发布；请合并分组",
            f"{small} value(s) aggregate fewer than {k} rows; nothing is published (group more coarsely)",
            rule="min_group_size", groups=small, k=k))


def compute_formula(ind: AnalysisIndicator, d: FormulaDefinition, inputs: Sequence[pa.Table]) -> pa.Table:
    a = inputs[0]
    if d.op == "yoy":
        return formulas.yoy(a)
    if d.op == "mom":
        return formulas.mom(a)
    if d.op == "growth":
        return formulas.growth(a)
    if d.op == "ytd":
        return formulas.ytd(a)
    if d.op == "decumulate":
        return formulas.decumulate(a)
    if d.op == "share":
        return formulas.share(a)
    if d.op == "rank":
        return formulas.rank(a, ascending=d.ascending)
    if d.op == "index":
        return formulas.index_to(a, str(d.base_period))
    if d.op == "resample":
        return formulas.resample(a, d.to or "月", how=d.how)
    b = inputs[1]
    if d.op == "per_capita":
        return formulas.per_capita(a, b, indicator=ind.name, unit=ind.unit or "", factor=d.factor)
    if d.op == "proportion":
        return formulas.proportion(a, b, indicator=ind.name)
    return formulas.ratio(a, b, indicator=ind.name, unit=ind.unit, factor=d.factor)


# -- values ------------------------------------------------------------------------------------------


def _naive(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=None) if t.tzinfo is None else t.astimezone(dt.UTC).replace(tzinfo=None)


def write_values(session: Session, ind: AnalysisIndicator, table: pa.Table,
                 sources: Sources) -> dict[tuple[str, str, str], float | None]:
    """Make the indicator's stored values those of ``table`` (long form): new cells inserted, changed
    ones updated, vanished ones deleted, unchanged ones left alone (a new version mostly adds periods).
    Returns the previous values by (region_code, site, period), so the caller sees what is new or changed."""
    old = {(r.region_code, r.site, r.period): r for r in session.execute(
        select(AnalysisValue.id, AnalysisValue.region_code, AnalysisValue.site, AnalysisValue.period,
               AnalysisValue.value, AnalysisValue.sources, AnalysisValue.source_rows)
        .where(AnalysisValue.indicator_id == ind.id))}
    before = {k: r.value for k, r in old.items()}
    now = utcnow()
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    cols = table.to_pydict()
    for i in range(table.num_rows):
        code = cols["region_code"][i] or NATIONAL_CODE
        site = cols["site"][i] or ""
        period = cols["period"][i]
        v = cols["value"][i]
        if v is not None and not math.isfinite(v):
            v = None
        key = (code, site, period)
        src_row = cols["source_row"][i]
        if key in rows:  # the same cell twice (two source rows): keep the first, note both rows
            if src_row is not None:
                rows[key]["source_rows"] = [*(rows[key]["source_rows"] or []), src_row]
            continue
        start = cols["period_start"][i]
        rows[key] = {"indicator_id": ind.id, "region_code": code, "region": cols["region"][i], "site": site,
                     "period": period, "period_start": start.replace(tzinfo=dt.UTC) if start else now,
                     "value": v, "sources": sources, "source_rows": [src_row] if src_row is not None else None,
                     "computed_at": now}
    inserts, updates = [], []
    for key, row in rows.items():
        prev = old.pop(key, None)
        if prev is None:
            inserts.append(row)
        elif prev.value != row["value"] or prev.sources != sources or prev.source_rows != row["source_rows"]:
            updates.append({"id": prev.id, "value": row["value"], "region": row["region"], "sources": sources,
                            "source_rows": row["source_rows"], "computed_at": now})
    gone = [r.id for r in old.values()]
    for i in range(0, len(gone), 1000):
        session.execute(delete(AnalysisValue).where(AnalysisValue.id.in_(gone[i:i + 1000])))
    for i in range(0, len(inserts), 5000):
        session.execute(insert(AnalysisValue), inserts[i:i + 5000])
    if updates:
        session.execute(update(AnalysisValue), updates)
    return before


def values_table(session: Session, ind: AnalysisIndicator, *, region_code: str | None = None,
                 site: str | None = None, period_from: str | None = None, period_to: str | None = None) -> pa.Table:
    """The stored values of ``ind`` as a long table (the formulas' and rules' input)."""
    q = select(AnalysisValue.region_code, AnalysisValue.region, AnalysisValue.site, AnalysisValue.period,
               AnalysisValue.period_start, AnalysisValue.value).where(AnalysisValue.indicator_id == ind.id)
    if region_code:
        q = q.where(AnalysisValue.region_code == region_code)
    if site is not None:
        q = q.where(AnalysisValue.site == site)
    if period_from:
        q = q.where(AnalysisValue.period >= period_from)
    if period_to:
        q = q.where(AnalysisValue.period <= period_to)
    rows = session.execute(q.order_by(AnalysisValue.region_code, AnalysisValue.site, AnalysisValue.period_start)).all()
    freq = ind.frequency
    return pa.Table.from_pydict({
        "indicator": [ind.name] * len(rows), "unit": [ind.unit] * len(rows),
        "region": [r.region for r in rows], "region_code": [r.region_code for r in rows],
        "site": [r.site or None for r in rows], "frequency": [freq] * len(rows),
        "period": [r.period for r in rows], "period_start": [_naive(r.period_start) for r in rows],
        "value": [r.value for r in rows], "source_row": [None] * len(rows), "source_column": [None] * len(rows),
    }, schema=LONG_SCHEMA)


def value_row(session: Session, ind: AnalysisIndicator, region: str, period: str, site: str = "") -> AnalysisValue:
    v = session.scalar(select(AnalysisValue).where(
        AnalysisValue.indicator_id == ind.id, AnalysisValue.region_code == region, AnalysisValue.site == site,
        AnalysisValue.period == period))
    if v is None:
        raise NotFound(f"指标“{ind.name}”没有 {region} {period} 的值", f"{ind.code} has no value for {region} {period}",
                       code="analysis_value_not_found")
    return v


def trace(session: Session, settings: Settings, ind: AnalysisIndicator, value: AnalysisValue,
          input_codes: Sequence[str] = (), *, cells_of: str | None = None) -> dict[str, Any]:
    """Where one value came from: the lake versions, and for a layout resource the source file rows
    (the long-form cells with their row and column); for a formula, its input indicators' values of
    the same region and period (each traceable in turn)."""
    out: dict[str, Any] = {"indicator": ind.code, "region_code": value.region_code, "region": value.region,
                           "site": value.site, "period": value.period, "value": value.value,
                           "sources": value.sources, "cells": [], "inputs": []}
    for s in value.sources or []:
        path = long_path(settings, int(s["resource_id"]), int(s["version"]))
        if cells_of is None or not path.is_file() or not value.source_rows:
            continue
        t = pq.read_table(path)
        mask = pc.is_in(t["source_row"], value_set=pa.array(value.source_rows, pa.int32()))
        hit = t.filter(mask)
        hit = hit.filter(pc.equal(hit["indicator"], cells_of))
        if value.site:
            hit = hit.filter(pc.equal(hit["site"], value.site))
        same = hit.filter(pc.equal(hit["period"], value.period))
        if same.num_rows:  # a wide row holds many periods: the cell of this one
            hit = same
        v = get_version(session, int(s["resource_id"]), int(s["version"]))
        for r in hit.slice(0, 200).to_pylist():
            out["cells"].append({"resource": s["code"], "version": v.version, "file": v.source_name,
                                 "row": r["source_row"], "column": r["source_column"], "region": r["region"],
                                 "site": r["site"], "period": r["period"], "value": r["value"]})
    for code in input_codes:
        other = session.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == code))
        if other is None:
            continue
        rows = session.execute(select(AnalysisValue.period, AnalysisValue.value).where(
            AnalysisValue.indicator_id == other.id, AnalysisValue.region_code == value.region_code,
            AnalysisValue.site == value.site).order_by(AnalysisValue.period.desc())
            .where(AnalysisValue.period <= value.period).limit(13)).all()
        out["inputs"].append({"code": other.code, "name": other.name, "unit": other.unit,
                              "values": [{"period": p, "value": x} for p, x in rows]})
    return out
