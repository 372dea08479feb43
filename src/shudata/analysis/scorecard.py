"""The departments' assessment scorecard (评估考核, plan tasks T59–T64), per department and per city node.

Six criteria, each scored 0–100 from the platform's own tables for a period (a year or a quarter),
then weighted (the ``scorecard_weights`` setting, :func:`parse_weights`) into a total of 100:

- ``completeness`` 目录完整性 — entries registered before the period's end holding every metadata item
  the assessment requires (:data:`REQUIRED_FIELDS`, at least one information item), and information
  items with a description: ``60 % × complete entries + 40 % × described items``;
- ``freshness`` 数据时效 — share of the entries whose newest data version at the period's end is
  within their declared update cycle (``catalog.freshness``);
- ``responsiveness`` 共享响应 — sharing requests awaiting the department's answer (有条件共享) submitted
  in the period: median working days to the decision (sharing's working-day calendar) and overdue
  answers: ``100 − 10 × (median − 2 days, when above) − 50 × overdue share``;
- ``quality`` 数据质量 — mean quality score of its entries (the quality package's latest scores);
- ``openness`` 开放程度 — entries published on the open portal over those the catalog allows opening
  (无条件/有条件开放); downloads and API calls of the period shown beside;
- ``demand`` 需求满足 — demands (需求清单) matched with the department's entries by the period's end,
  relative to the unit that matched the most (= 100).

A criterion without any basis for a unit (no entries, no requests, no scores) is left out of its
total and the other weights are scaled up to 100; the export says so. Units are ranked by total
(ties share a rank). City nodes (市州) gather the departments of their region codes; departments at
province level form 省本级.

The figures of the sharing and portal packages come through the ``scorecard_measures`` hook (this
package sits below them).

>>> parse_weights('{"completeness": 2, "freshness": 1, "responsiveness": 1, "quality": 0, "openness": 0, "demand": 0}')
{'completeness': 50.0, 'freshness': 25.0, 'responsiveness': 25.0, 'quality': 0.0, 'openness': 0.0, 'demand': 0.0}
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.analysis.dashboards_perms.actions import SCORECARD_VIEW
from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.freshness import freshness
from shudata.catalog.models import CatalogDemand, CatalogResource
from shudata.catalog.schemas import OpenType
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.plugins import PluginManager, plugins_of
from shudata.core.types import Actor
from shudata.lake.models import LakeVersion
from shudata.security.authz import require
from shudata.security.models import Department
from shudata.standards.regions import name_of

SETTING = "SHUDATA_SCORECARD_WEIGHTS"


@dataclass(frozen=True)
class Criterion:
    key: str
    zh: str
    en: str
    how_zh: str
    how_en: str


CRITERIA: tuple[Criterion, ...] = (
    Criterion("completeness", "目录完整性", "Catalog completeness",
              "期末已编目资源中必填元数据齐全（名称、摘要、分类、类目、格式、更新周期、共享与开放属性、发布日期、"
              "至少一个信息项）的比例占 60%，信息项有说明的比例占 40%",
              "60 % entries holding every required metadata item, 40 % information items with a description"),
    Criterion("freshness", "数据时效", "Data freshness",
              "期末最新数据版本未超过资源声明更新周期的资源所占比例",
              "share of entries whose newest version at the period's end is within their update cycle"),
    Criterion("responsiveness", "共享响应", "Sharing responsiveness",
              "期内提交、需本单位答复的有条件共享申请：答复用时中位数（工作日，扣除法定节假日、计入调休）超过 2 个"
              "工作日每日扣 10 分，逾期答复（含逾期未答复）比例每 1% 扣 0.5 分",
              "conditional requests of the period: −10 per working day of median answer time above 2, "
              "−50 × overdue share"),
    Criterion("quality", "数据质量", "Data quality",
              "本单位资源最近一次质量检查得分的平均值", "mean of the entries' latest quality scores"),
    Criterion("openness", "开放程度", "Openness",
              "已在开放门户发布的资源数占目录中可开放（无条件、有条件开放）资源数的比例；期内下载量、API 调用量列示",
              "published datasets over entries the catalog allows opening; downloads and API calls shown"),
    Criterion("demand", "需求满足", "Demand satisfaction",
              "期末已由本单位资源满足（关联）的需求清单条数，与满足最多的单位相比（最多者 100 分）",
              "demands matched with the unit's entries, relative to the unit matching the most"),
)
KEYS = tuple(c.key for c in CRITERIA)
DEFAULT_WEIGHTS: dict[str, float] = {"completeness": 20.0, "freshness": 20.0, "responsiveness": 20.0,
                                     "quality": 15.0, "openness": 15.0, "demand": 10.0}
REQUIRED_FIELDS = ("name", "abstract", "classification", "category_path", "format_category", "format_type",
                   "update_cycle", "sharing_method", "open_type", "publish_date")
LEVELS = {"department": ("各部门", "departments"), "city": ("各市州", "cities")}


def parse_weights(raw: str | Mapping[str, Any] | None) -> dict[str, float]:
    """The weights as percentages summing to 100 (the setting holds any non-negative numbers: they
    are scaled); 422 naming the setting when it is not a JSON object of the six criteria."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return dict(DEFAULT_WEIGHTS)
    try:
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError as exc:
        raise _bad_weights(f"不是合法的 JSON（{exc}）") from exc
    if not isinstance(data, dict):
        raise _bad_weights("应为 JSON 对象，如 " + json.dumps(DEFAULT_WEIGHTS, ensure_ascii=False))
    unknown = sorted(set(data) - set(KEYS))
    missing = sorted(set(KEYS) - set(data))
    if unknown or missing:
        parts = ([f"未知指标 {', '.join(unknown)}"] if unknown else []) + (
            [f"缺少 {', '.join(missing)}"] if missing else [])
        raise _bad_weights("；".join(parts) + f"（六项依次为 {', '.join(KEYS)}）")
    out: dict[str, float] = {}
    for k in KEYS:
        v = data[k]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise _bad_weights(f"{k} 的权重应为不小于 0 的数，实为 {v!r}")
        out[k] = float(v)
    total = sum(out.values())
    if total <= 0:
        raise _bad_weights("权重之和须大于 0")
    return {k: round(100 * v / total, 4) for k, v in out.items()}


def _bad_weights(why: str) -> InvalidInput:
    return InvalidInput(f"评估考核权重设置 {SETTING} 有误：{why}",
                        f"The scorecard weights setting {SETTING} is wrong: {why}",
                        code="scorecard_weights_invalid", details={"action": SCORECARD_VIEW.name})


# -- periods --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    year: int
    quarter: int | None
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.year}年第{self.quarter}季度" if self.quarter else f"{self.year}年度"


def period(year: int, quarter: int | None, tz: str) -> Period:
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"年份 {year} 不在 2000–2100 之间", f"Year {year} is outside 2000–2100",
                           code="scorecard_period", details={"action": SCORECARD_VIEW.name})
    if quarter is not None and quarter not in (1, 2, 3, 4):
        raise InvalidInput(f"季度应为 1–4，实为 {quarter}", f"The quarter is 1–4, not {quarter}",
                           code="scorecard_period", details={"action": SCORECARD_VIEW.name})
    zone = ZoneInfo(tz)
    first, last = ((1, 12) if quarter is None else (3 * quarter - 2, 3 * quarter))
    start = dt.datetime(year, first, 1, tzinfo=zone)
    end = dt.datetime(year + (last == 12), last % 12 + 1, 1, tzinfo=zone)
    return Period(year, quarter, start.astimezone(dt.UTC), end.astimezone(dt.UTC))


# -- figures --------------------------------------------------------------------------------------------

Figures = dict[str, Any]


def _complete(r: CatalogResource) -> bool:
    if any(getattr(r, f) in (None, "") for f in REQUIRED_FIELDS) or not (r.abstract or "").strip():
        return False
    return bool([i for i in r.information_items or [] if isinstance(i, dict) and i.get("name")])


def _department_figures(session: Session, settings: Settings, p: Period,
                        plugins: PluginManager) -> dict[int, Figures]:
    """Raw figures per department (counts and lists, so that a city can add its departments')."""
    now = min(p.end, utcnow())
    res = list(session.scalars(select(CatalogResource).where(CatalogResource.is_deleted.is_(False),
                                                             CatalogResource.created_at < p.end)))
    latest = dict(session.execute(select(LakeVersion.resource_id, func.max(LakeVersion.created_at))
                                  .where(LakeVersion.created_at < p.end).group_by(LakeVersion.resource_id)).all())
    scores = plugins.hook.catalog_quality_scores(session=session, ids=[r.id for r in res]) or {}
    out: dict[int, Figures] = defaultdict(lambda: defaultdict(int))
    for r in res:
        f = out[r.provider_department_id]
        f["entries"] += 1
        f["entries_complete"] += int(_complete(r))
        items = [i for i in r.information_items or [] if isinstance(i, dict)]
        f["items"] += len(items)
        f["items_described"] += sum(1 for i in items if str(i.get("description") or "").strip())
        status, _overdue = freshness(r.update_cycle, latest.get(r.id), r.created_at, now)
        f["entries_fresh"] += int(status == "fresh")  # an entry without data is not fresh
        f["entries_openable"] += int(r.open_type != OpenType.NONE.value)
        if r.id in scores and scores[r.id] is not None:
            f.setdefault("quality_scores", []).append(float(scores[r.id]))
    matched = (select(CatalogResource.provider_department_id, func.count())
               .join(CatalogDemand, CatalogDemand.resource_id == CatalogResource.id)
               .where(CatalogDemand.linked_at.is_not(None), CatalogDemand.linked_at < p.end)
               .group_by(CatalogResource.provider_department_id))
    for dept, n in session.execute(matched):
        out[int(dept)]["demands_matched"] += int(n)
    for answer in plugins.hook.scorecard_measures(session=session, settings=settings, start=p.start, end=p.end):
        for measure, per_dept in answer.items():
            for dept, value in per_dept.items():
                f = out[int(dept)]
                if isinstance(value, list):
                    f.setdefault(measure, []).extend(value)
                else:
                    f[measure] += value
    return out


def _merge(parts: Iterable[Figures]) -> Figures:
    out: Figures = defaultdict(int)
    for part in parts:
        for k, v in part.items():
            if isinstance(v, list):
                out.setdefault(k, []).extend(v)
            else:
                out[k] += v
    return out


def _scores(f: Figures, best_demand: int) -> dict[str, float | None]:
    entries, items = f.get("entries", 0), f.get("items", 0)
    completeness = (round(100 * (0.6 * f.get("entries_complete", 0) / entries
                                 + 0.4 * (f.get("items_described", 0) / items if items else 0)), 2)
                    if entries else None)
    fresh = round(100 * f.get("entries_fresh", 0) / entries, 2) if entries else None
    days = f.get("sharing_answer_days") or []
    requests = f.get("sharing_requests", 0)
    response: float | None = None
    if requests:
        median = statistics.median(days) if days else 0.0
        overdue_share = f.get("sharing_overdue", 0) / requests
        response = round(max(0.0, min(100.0, 100 - 10 * max(0.0, median - 2) - 50 * overdue_share)), 2)
    q = f.get("quality_scores") or []
    quality = round(statistics.fmean(q), 2) if q else None
    openable = f.get("entries_openable", 0)
    openness = round(100 * min(1.0, f.get("open_datasets", 0) / openable), 2) if openable else None
    demand = round(100 * f.get("demands_matched", 0) / best_demand, 2) if best_demand else None
    return {"completeness": completeness, "freshness": fresh, "responsiveness": response, "quality": quality,
            "openness": openness, "demand": demand}


def _public_figures(f: Figures) -> dict[str, Any]:
    days = f.get("sharing_answer_days") or []
    q = f.get("quality_scores") or []
    return {"entries": f.get("entries", 0), "entries_complete": f.get("entries_complete", 0),
            "items": f.get("items", 0), "items_described": f.get("items_described", 0),
            "entries_fresh": f.get("entries_fresh", 0), "sharing_requests": f.get("sharing_requests", 0),
            "sharing_answered": len(days), "sharing_median_days": statistics.median(days) if days else None,
            "sharing_overdue": f.get("sharing_overdue", 0), "quality_scored": len(q),
            "entries_openable": f.get("entries_openable", 0), "open_datasets": f.get("open_datasets", 0),
            "open_downloads": f.get("open_downloads", 0), "open_api_calls": f.get("open_api_calls", 0),
            "demands_matched": f.get("demands_matched", 0)}


@dataclass
class UnitScore:
    code: str
    name: str
    figures: dict[str, Any]
    scores: dict[str, float | None]
    points: dict[str, float | None]
    total: float
    rank: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Scorecard:
    period: Period
    level: str
    weights: dict[str, float]
    units: list[UnitScore]
    computed_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.period.year, "quarter": self.period.quarter, "label": self.period.label,
                "level": self.level, "weights": self.weights, "computed_at": self.computed_at.isoformat(),
                "criteria": [{"key": c.key, "name": c.zh, "name_en": c.en, "weight": self.weights[c.key],
                              "how": c.how_zh, "how_en": c.how_en} for c in CRITERIA],
                "units": [{"code": u.code, "name": u.name, "total": u.total, "rank": u.rank, "scores": u.scores,
                           "points": u.points, "figures": u.figures, "notes": u.notes} for u in self.units]}


def _city(region_code: str) -> str:
    code = (region_code or "")[:6]
    if len(code) < 6 or code.endswith("0000"):
        return code[:2] + "0000" if len(code) >= 2 else "000000"
    return code[:4] + "00"


def _city_name(code: str) -> str:
    if code.endswith("0000"):
        return f"省本级（{name_of(code) or code}）"
    return name_of(code) or code


def _score_units(raw: Mapping[str, tuple[str, Figures]], weights: Mapping[str, float]) -> list[UnitScore]:
    best = max((f.get("demands_matched", 0) for _n, f in raw.values()), default=0)
    units: list[UnitScore] = []
    for code, (name, f) in raw.items():
        scores = _scores(f, best)
        basis = {k: w for k, w in weights.items() if scores[k] is not None and w > 0}
        scale = 100 / sum(basis.values()) if basis else 0.0
        points = {k: (round((scores[k] or 0.0) * w * scale / 100, 2) if k in basis else None)
                  for k, w in weights.items()}
        total = round(sum(p for p in points.values() if p is not None), 2)
        notes = [f"{c.zh}无考核依据，权重按比例分配给其他指标" for c in CRITERIA
                 if scores[c.key] is None and weights[c.key] > 0]
        units.append(UnitScore(code=code, name=name, figures=_public_figures(f), scores=scores, points=points,
                               total=total, notes=notes))
    units.sort(key=lambda u: (-u.total, u.name))
    for i, u in enumerate(units):
        u.rank = units[i - 1].rank if i and units[i - 1].total == u.total else i + 1
    return units


def compute(*, session: Session, settings: Settings, actor: Actor, year: int, quarter: int | None = None,
            level: str = "department", weights: Mapping[str, Any] | str | None = None,
            plugins: PluginManager | None = None) -> Scorecard:
    """The scorecard of ``year`` (or one quarter of it) for every department or city node."""
    require(actor, SCORECARD_VIEW)
    if level not in LEVELS:
        raise InvalidInput(f"考核范围应为 department 或 city，实为 {level}",
                           f"level is department or city, not {level}",
                           code="scorecard_level", details={"action": SCORECARD_VIEW.name})
    w = parse_weights(weights if weights is not None else settings.scorecard_weights)
    p = period(year, quarter, settings.timezone)
    figures = _department_figures(session, settings, p, plugins or plugins_of(session))
    departments = list(session.scalars(select(Department).where(Department.created_at < p.end)
                                       .order_by(Department.id)))
    raw: dict[str, tuple[str, Figures]] = {}
    if level == "department":
        raw = {str(d.id): (d.name, figures.get(d.id, {})) for d in departments}
    else:
        by_city: dict[str, list[Figures]] = defaultdict(list)
        for d in departments:
            by_city[_city(d.region_code)].append(figures.get(d.id, {}))
        raw = {code: (_city_name(code), _merge(parts)) for code, parts in sorted(by_city.items())}
    return Scorecard(period=p, level=level, weights=w, units=_score_units(raw, w), computed_at=utcnow())


def trend(*, session: Session, settings: Settings, actor: Actor, year: int, level: str = "department",
          plugins: PluginManager | None = None) -> dict[str, Any]:
    """Each unit's total by quarter of ``year`` (the quarters begun so far; ``None`` before a unit existed)."""
    require(actor, SCORECARD_VIEW)
    pm = plugins or plugins_of(session)
    quarters = [q for q in (1, 2, 3, 4) if period(year, q, settings.timezone).start <= utcnow()] or [1]
    series: dict[str, dict[str, Any]] = {}
    for i, q in enumerate(quarters):
        card = compute(session=session, settings=settings, actor=actor, year=year, quarter=q, level=level, plugins=pm)
        for u in card.units:  # a unit set up later has no total (None) for the quarters before
            row = series.setdefault(u.code, {"code": u.code, "name": u.name, "totals": [None] * len(quarters)})
            row["totals"][i] = u.total
    return {"year": year, "level": level, "quarters": [f"{year}Q{q}" for q in quarters],
            "units": list(series.values())}


# -- the XLSX of an annual assessment --------------------------------------------------------------------

def to_xlsx(card: Scorecard, *, session: Session | None = None, actor: Actor | None = None) -> bytes:
    """The scorecard in the layout of an annual assessment: title rows, 单位 column, one column per
    criterion with its weight in the header, 总分, 排名, then the notes on how each was measured; a
    second sheet holds the raw figures. Audited when ``session`` and ``actor`` are given."""
    wb = Workbook()
    ws = wb.active
    if ws is None:  # a new workbook always has its sheet
        ws = wb.create_sheet()
    ws.title = "计分表"
    ncols = 2 + len(CRITERIA) + 3
    scope = LEVELS[card.level][0]
    bold, thin = Font(bold=True), Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.append([f"{card.period.label}政务数据资源管理工作评估考核计分表（{scope}）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([f"考核期间：{card.period.start.date()} 至 {card.period.end.date() - dt.timedelta(days=1)}"
               f"（UTC）；满分 100 分；计算时间：{card.computed_at.strftime('%Y-%m-%d %H:%M')} UTC"])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
    header = ["序号", "单位", *[f"{c.zh}（{card.weights[c.key]:g}分）" for c in CRITERIA], "总分", "排名", "备注"]
    ws.append(header)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for i in range(1, ncols + 1):
        cell = ws.cell(row=3, column=i)
        cell.font, cell.fill, cell.border = bold, fill, box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for n, u in enumerate(card.units, start=1):
        ws.append([n, u.name, *[u.points[c.key] if u.points[c.key] is not None else "—" for c in CRITERIA],
                   u.total, u.rank, "；".join(u.notes)])
        for i in range(1, ncols + 1):
            ws.cell(row=ws.max_row, column=i).border = box
    ws.append([])
    ws.append(["说明"])
    ws.cell(row=ws.max_row, column=1).font = bold
    for c in CRITERIA:
        ws.append([f"{c.zh}（权重 {card.weights[c.key]:g}）：{c.how_zh}。"])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=ncols)
    ws.append(["各指标先按 0–100 分计算，再乘以权重折算；某项无考核依据（如无资源、无共享申请、无质量得分）时不计入，"
               f"其权重按比例分配给其他指标。权重由设置 {SETTING} 配置。所有数据均取自平台业务库。"])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=ncols)
    widths = [6, 28, *[14] * len(CRITERIA), 10, 8, 40]
    for i, wd in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = wd
    raw = wb.create_sheet("原始数据")
    keys = list(card.units[0].figures) if card.units else []
    raw.append(["单位", *keys, *[f"{c.zh}得分" for c in CRITERIA]])
    for u in card.units:
        raw.append([u.name, *[u.figures[k] for k in keys], *[u.scores[c.key] for c in CRITERIA]])
    buf = io.BytesIO()
    wb.save(buf)
    if session is not None and actor is not None:
        record(session, actor, events.AnalysisScorecardExport(
            resource_id=f"{card.period.year}Q{card.period.quarter or 0}",
            details={"level": card.level, "units": len(card.units), "weights": card.weights}))
    return buf.getvalue()


def criteria_of(keys: Sequence[str] = KEYS) -> list[Criterion]:
    return [c for c in CRITERIA if c.key in keys]
