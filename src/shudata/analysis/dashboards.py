"""Dashboards anyone can build (仪表板, issue 18): declarative documents of panels on a grid.

A dashboard is a JSON document (:class:`DashboardDoc`): a title, dashboard-level filters on
region and period, and panels placed on a 12-column grid (``x``, ``y``, ``w``, ``h``). Each panel
draws one chart (``line``, ``bar``, ``map_china`` — provinces, ``map_sichuan`` — Sichuan's
cities/prefectures, ``table``, ``number``) of one data source:

- ``query``: a saved workbench query (``saved_query_id``), run *as the viewer* through the SQL
  sandbox — the viewer's own data, or another department's as its grant delivers it, masked;
- ``indicator``: an indicator of the indicator store (``indicator`` code), as a series
  (``view: series``) or Sichuan against the other provinces in the latest period
  (``view: compare``: rank, share, growth). Forecast values are marked ``预测``.

Panel data are computed per request for whoever asks, never cached across users. Sharing is
``private`` (the owner), ``department`` (the owner's department) or ``public``: published on the
open portal by a steward of the department, and only when every panel is one the anonymous public
may see (an indicator whose publication profile is ``open``); workbench queries run only for
logged-in accounts, so a dashboard with a query panel is never published.

Export gives the document with each query panel's SQL; import validates the whole document first
and writes nothing when any part is wrong (422 listing every problem), creating the saved queries a
query panel needs for the importer.

>>> doc = DashboardDoc.model_validate({"title": "经济运行", "panels": [{"id": "gdp", "title": "GDP",
...     "chart": "line", "x": 0, "y": 0, "w": 6, "h": 4, "source": {"kind": "indicator", "indicator": "GDP"}}]})
>>> doc.panels[0].source.view, doc.schema_version
('series', 'shudata.dashboard/1')
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shudata.analysis.access import can_see
from shudata.analysis.dashboards_models import AnalysisDashboard
from shudata.analysis.dashboards_perms.actions import DASHBOARD_MANAGE, DASHBOARD_PUBLISH
from shudata.analysis.models import AnalysisIndicator, AnalysisValue
from shudata.analysis.service import series
from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from shudata.core.types import Actor, ResourceRef
from shudata.query import saved
from shudata.query.models import QuerySaved
from shudata.query.service import run_query
from shudata.query.workbench_schemas import SavedQueryCreate
from shudata.security.authz import allowed, require

SCHEMA_VERSION = "shudata.dashboard/1"
GRID_COLUMNS = 12
MAX_PANELS = 48
PANEL_ROWS = 2000  # rows a panel's data may hold (a chart of more is unreadable anyway)
PUBLIC_PROFILE = "open"  # the portal's publication profile: what the anonymous public may see
Chart = Literal["line", "bar", "map_china", "map_sichuan", "table", "number"]
Sharing = Literal["private", "department", "public"]
CHART_LABELS = {"line": ("折线图", "Line"), "bar": ("柱状图", "Bar"), "map_china": ("全国分省地图", "Map of provinces"),
                "map_sichuan": ("四川市州地图", "Map of Sichuan's cities"), "table": ("表格", "Table"),
                "number": ("数字", "Number")}
SHARING_LABELS = {"private": ("仅本人", "Only me"), "department": ("本部门", "My department"),
                  "public": ("公开发布（开放门户）", "Published (open portal)")}
DETAILS = {"action": DASHBOARD_MANAGE.name, "resource_type": "analysis.dashboard"}


# -- the document ------------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Filters(_Strict):
    """Region and period filters (of the dashboard, or of one panel's source)."""

    regions: list[str] = Field(default_factory=list, max_length=60,
                               description="地区代码或名称（如 510000 / 四川省 / 成都市）；空 = 全部")
    period_from: str | None = Field(None, max_length=20, description="起始期（含），如 2015、2020-01、2020Q1")
    period_to: str | None = Field(None, max_length=20, description="截止期（含）")

    @field_validator("regions")
    @classmethod
    def _clean(cls, v: list[str]) -> list[str]:
        out = [r.strip() for r in v if r and r.strip()]
        if any(len(r) > 60 for r in out):
            raise ValueError("地区代码或名称不超过 60 个字符")
        return out

    @model_validator(mode="after")
    def _order(self) -> Filters:
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise ValueError(f"起始期 {self.period_from} 晚于截止期 {self.period_to}")
        return self


class Source(Filters):
    """Where a panel's data come from: a saved workbench query, or an indicator."""

    kind: Literal["query", "indicator"]
    saved_query_id: int | None = Field(None, ge=1, description="已保存查询的编号（kind = query）")
    sql: str | None = Field(None, max_length=100_000, description="导出时附带的查询 SQL；导入时据此为导入者保存查询")
    query_name: str | None = Field(None, max_length=200, description="导出时附带的查询名称")
    indicator: str | None = Field(None, max_length=64, description="指标代码（kind = indicator）")
    view: Literal["series", "compare"] = Field(
        "series", description="series 时间序列；compare 四川与各省比较（排名、占比、增速）")
    forecast: bool = Field(False, description="指标时间序列附上预测值（80% 区间，标注“预测”；只对单一地区的序列）")
    x: str | None = Field(None, max_length=200, description="横轴 / 类别列")
    y: str | None = Field(None, max_length=200, description="数值列")
    series: str | None = Field(None, max_length=200, description="分组（系列）列")
    region_column: str | None = Field(None, max_length=200, description="地区列（地区筛选和地图用）")
    period_column: str | None = Field(None, max_length=200, description="期别列（期别筛选用）")

    @model_validator(mode="after")
    def _complete(self) -> Source:
        if self.kind == "query" and self.saved_query_id is None and not (self.sql or "").strip():
            raise ValueError("查询面板需要 saved_query_id（已保存查询）或 sql")
        if self.kind == "indicator" and not (self.indicator or "").strip():
            raise ValueError("指标面板需要 indicator（指标代码）")
        return self


class Panel(_Strict):
    id: str = Field(..., pattern=r"^[A-Za-z0-9_-]{1,40}$", description="面板编号（字母、数字、_、-）")
    title: str = Field(..., min_length=1, max_length=200)
    chart: Chart
    x: int = Field(0, ge=0, lt=GRID_COLUMNS)
    y: int = Field(0, ge=0, le=1000)
    w: int = Field(6, ge=1, le=GRID_COLUMNS)
    h: int = Field(4, ge=1, le=24)
    source: Source

    @model_validator(mode="after")
    def _fits(self) -> Panel:
        if self.x + self.w > GRID_COLUMNS:
            raise ValueError(f"面板“{self.title}”超出网格：x + w = {self.x + self.w}，不能超过 {GRID_COLUMNS}")
        return self


class DashboardDoc(_Strict):
    """The declarative document of one dashboard (what export gives and import takes)."""

    schema_version: Literal["shudata.dashboard/1"] = "shudata.dashboard/1"
    title: str = Field(..., min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    filters: Filters = Field(default_factory=Filters)
    panels: list[Panel] = Field(default_factory=list, max_length=MAX_PANELS)

    @model_validator(mode="after")
    def _unique(self) -> DashboardDoc:
        seen: set[str] = set()
        for p in self.panels:
            if p.id in seen:
                raise ValueError(f"面板编号 {p.id} 重复")
            seen.add(p.id)
        return self


class DashboardRead(BaseModel):
    id: int
    title: str
    description: str | None
    owner: str
    department_id: int | None
    sharing: str
    revision: int
    mine: bool
    can_publish: bool
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    document: DashboardDoc


class PanelData(BaseModel):
    """One panel's data, computed for the viewer (the panel data endpoint's answer)."""

    panel: str
    chart: str
    title: str
    columns: list[dict[str, str]] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    x: str | None = None
    y: str | None = None
    series: str | None = None
    region: str | None = None
    forecast: bool = Field(False, description="含预测值（“类型”列为“预测”的行）")
    unit: str | None = None
    truncated: bool = False
    notes: list[str] = Field(default_factory=list)


def problems(exc: ValidationError) -> list[dict[str, str]]:
    """Every problem of a refused document, with where it is (``panels.0.source.indicator``)."""
    return [{"where": ".".join(str(p) for p in e["loc"]) or "(文档)",
             "problem": str(e.get("msg", "")).removeprefix("Value error, ")} for e in exc.errors()]


def parse_document(data: Any) -> DashboardDoc:
    """Validate a document; 422 listing every problem (a person can fix them all at once)."""
    try:
        return DashboardDoc.model_validate(data)
    except ValidationError as exc:
        found = problems(exc)
        listing = "；".join(f"{p['where']}：{p['problem']}" for p in found[:20])
        raise InvalidInput(f"仪表板文档有 {len(found)} 处问题：{listing}",
                           f"The dashboard document has {len(found)} problem(s): {listing}",
                           code="dashboard_invalid", details={**DETAILS, "problems": found}) from exc


# -- visibility --------------------------------------------------------------------------------------

def _require_account(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise Unauthenticated("请先登录", "Log in first", code="unauthenticated", details=DETAILS)
    if actor.user_id is None and not actor.is_system:
        raise PermissionDenied("只有平台账号可以建立仪表板", "Only platform accounts build dashboards",
                               code="permission_denied", details=DETAILS)


def _ref(d: AnalysisDashboard) -> ResourceRef:
    return ResourceRef("analysis.dashboard", d.id, department_id=d.department_id, owner=d.owner)


def can_view(actor: Actor, d: AnalysisDashboard) -> bool:
    if d.sharing == "public" or actor.is_system:
        return True
    if not actor.is_authenticated:
        return False
    if d.owner == actor.username:
        return True
    return d.sharing == "department" and d.department_id is not None and d.department_id == actor.department_id


def get_row(session: Session, actor: Actor, dashboard_id: int) -> AnalysisDashboard:
    d = session.get(AnalysisDashboard, dashboard_id)
    if d is None or not can_view(actor, d):
        raise NotFound(f"没有编号为 {dashboard_id} 的仪表板（或它不对您共享）",
                       f"No dashboard {dashboard_id} (or it is not shared with you)", code="dashboard_not_found",
                       details={**DETAILS, "resource_id": str(dashboard_id)})
    return d


def _read(d: AnalysisDashboard, actor: Actor) -> DashboardRead:
    return DashboardRead(id=d.id, title=d.title, description=d.description, owner=d.owner,
                         department_id=d.department_id, sharing=d.sharing, revision=d.revision,
                         mine=d.owner == actor.username, can_publish=allowed(actor, DASHBOARD_PUBLISH, _ref(d)),
                         published_at=d.published_at, created_at=d.created_at, updated_at=d.updated_at,
                         document=DashboardDoc.model_validate(d.document))


def list_dashboards(*, session: Session, actor: Actor) -> list[DashboardRead]:
    """The caller's dashboards, their department's shared ones, and the published ones."""
    cond = AnalysisDashboard.sharing == "public"
    if actor.is_authenticated:
        own = or_(AnalysisDashboard.owner == actor.username, cond)
        if actor.department_id is not None:
            own = or_(own, (AnalysisDashboard.sharing == "department")
                      & (AnalysisDashboard.department_id == actor.department_id))
        cond = own
    rows = session.scalars(select(AnalysisDashboard).where(cond)
                           .order_by(AnalysisDashboard.updated_at.desc(), AnalysisDashboard.id.desc()))
    return [_read(d, actor) for d in rows]


def get_dashboard(*, session: Session, actor: Actor, dashboard_id: int) -> DashboardRead:
    return _read(get_row(session, actor, dashboard_id), actor)


# -- writes ------------------------------------------------------------------------------------------

def _check_sources(session: Session, actor: Actor, doc: DashboardDoc) -> None:
    """Every query panel names a saved query the author sees; every indicator exists (422 listing all)."""
    found: list[dict[str, str]] = []
    for i, p in enumerate(doc.panels):
        s = p.source
        if s.kind == "query" and s.saved_query_id is not None:
            try:
                saved.get_saved(session=session, actor=actor, saved_id=s.saved_query_id)
            except NotFound:
                found.append({"where": f"panels.{i}.source.saved_query_id",
                              "problem": f"没有编号为 {s.saved_query_id} 的已保存查询（或它不对您共享）"})
        elif s.kind == "indicator" and _indicator(session, s.indicator or "") is None:
            found.append({"where": f"panels.{i}.source.indicator", "problem": f"没有代码为 {s.indicator} 的指标"})
    if found:
        listing = "；".join(f"{p['where']}：{p['problem']}" for p in found[:20])
        raise InvalidInput(f"仪表板文档有 {len(found)} 处问题：{listing}",
                           f"The dashboard document has {len(found)} problem(s): {listing}",
                           code="dashboard_invalid", details={**DETAILS, "problems": found})


def _stored(doc: DashboardDoc) -> dict[str, Any]:
    """The document as kept: query panels keep only the saved query's id (its SQL lives there)."""
    out = doc.model_dump(mode="json")
    for p in out["panels"]:
        if p["source"]["kind"] == "query" and p["source"].get("saved_query_id") is not None:
            p["source"]["sql"] = None
            p["source"]["query_name"] = None
    return out


def _check_sharing(actor: Actor, sharing: str) -> None:
    if sharing == "department" and actor.department_id is None:
        raise InvalidInput("您没有所属部门，仪表板只能设为仅本人可见", "You belong to no department: keep it private",
                           code="dashboard_no_department", details=DETAILS)
    if sharing == "public":
        raise InvalidInput("公开发布请使用“发布到开放门户”（需部门数据管理员审核发布条件）",
                           "Publish through the publish action (a steward checks the publication gate)",
                           code="dashboard_publish_separately", details=DETAILS)


def _save_queries(session: Session, actor: Actor, doc: DashboardDoc) -> DashboardDoc:
    """Query panels carrying SQL but no visible saved query get one saved for ``actor`` (import, pin)."""
    taken = set(session.scalars(select(QuerySaved.name).where(QuerySaved.owner == actor.username)))
    for p in doc.panels:
        s = p.source
        if s.kind != "query" or s.saved_query_id is not None:
            continue
        base = (s.query_name or f"仪表板“{doc.title}”·{p.title}")[:180]
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}（{n}）"
        taken.add(name)
        made = saved.create_saved(session=session, actor=actor, data=SavedQueryCreate(
            name=name, description=f"仪表板面板“{p.title}”的数据来源", sql=s.sql or "", visibility="private"))
        s.saved_query_id, s.sql, s.query_name = made.id, None, None
    return doc


def create_dashboard(*, session: Session, actor: Actor, doc: DashboardDoc, sharing: str = "private",
                     imported: bool = False) -> DashboardRead:
    """A new dashboard owned by the caller (``imported``: from an exported document)."""
    _require_account(actor)
    require(actor, DASHBOARD_MANAGE, ResourceRef("analysis.dashboard", None, department_id=actor.department_id,
                                                 owner=actor.username))
    _check_sharing(actor, sharing)
    doc = _save_queries(session, actor, doc)
    _check_sources(session, actor, doc)
    now = utcnow()
    d = AnalysisDashboard(title=doc.title, description=doc.description, owner=actor.username,
                          owner_user_id=actor.user_id, department_id=actor.department_id, sharing=sharing,
                          document=_stored(doc), revision=1, created_at=now, updated_at=now)
    session.add(d)
    session.flush()
    event = events.AnalysisDashboardImport if imported else events.AnalysisDashboardCreate
    record(session, actor, event(resource_id=str(d.id), details={"title": d.title, "panels": len(doc.panels),
                                                                  "sharing": sharing}))
    return _read(d, actor)


def _own(session: Session, actor: Actor, dashboard_id: int) -> AnalysisDashboard:
    _require_account(actor)
    d = get_row(session, actor, dashboard_id)
    require(actor, DASHBOARD_MANAGE, _ref(d))
    return d


def update_dashboard(*, session: Session, actor: Actor, dashboard_id: int, doc: DashboardDoc | None = None,
                     sharing: str | None = None, revision: int | None = None) -> DashboardRead:
    """Replace the owner's document and/or change its sharing (private / department). ``revision``:
    the revision the editor started from — a stale one is refused (409) instead of losing a change."""
    d = _own(session, actor, dashboard_id)
    if revision is not None and revision != d.revision:
        raise InvalidInput(f"仪表板已被修改（当前第 {d.revision} 版，您编辑的是第 {revision} 版），请刷新后再改",
                           f"The dashboard changed meanwhile (revision {d.revision}, you edited {revision}): reload",
                           code="dashboard_stale", details={**DETAILS, "resource_id": str(d.id)})
    changed: list[str] = []
    if doc is not None:
        doc = _save_queries(session, actor, doc)
        _check_sources(session, actor, doc)
        if d.sharing == "public":
            _check_publishable(session, doc)
        d.document, d.title, d.description = _stored(doc), doc.title, doc.description
        changed.append("document")
    if sharing is not None and sharing != d.sharing:
        _check_sharing(actor, sharing)
        d.sharing = sharing
        d.published_at = d.published_by = None
        changed.append("sharing")
    if changed:
        d.revision += 1
        d.updated_at = utcnow()
        record(session, actor, events.AnalysisDashboardUpdate(resource_id=str(d.id),
                                                              details={"changed": changed, "sharing": d.sharing}))
    session.flush()
    return _read(d, actor)


def delete_dashboard(*, session: Session, actor: Actor, dashboard_id: int) -> None:
    d = _own(session, actor, dashboard_id)
    record(session, actor, events.AnalysisDashboardDelete(resource_id=str(d.id), details={"title": d.title}))
    session.delete(d)
    session.flush()


def export_document(*, session: Session, actor: Actor, dashboard_id: int) -> dict[str, Any]:
    """The dashboard as a document to ship: each query panel carries its SQL and the query's name."""
    d = get_row(session, actor, dashboard_id)
    doc = DashboardDoc.model_validate(d.document)
    ids = [p.source.saved_query_id for p in doc.panels if p.source.kind == "query" and p.source.saved_query_id]
    queries = {q.id: q for q in session.scalars(select(QuerySaved).where(QuerySaved.id.in_(ids)))} if ids else {}
    out = doc.model_dump(mode="json")
    for p in out["panels"]:
        src = p["source"]
        q = queries.get(src.get("saved_query_id") or 0)
        if src["kind"] == "query" and q is not None:
            src["sql"], src["query_name"], src["saved_query_id"] = q.sql, q.name, None
    return out


def import_document(*, session: Session, actor: Actor, data: Any, title: str | None = None) -> DashboardRead:
    """A new dashboard (a copy) from an exported document; nothing is written when any part is wrong."""
    doc = parse_document(data)
    if title:
        doc.title = title[:200]
    return create_dashboard(session=session, actor=actor, doc=doc, imported=True)


def pin(*, session: Session, actor: Actor, sql: str, panel_title: str, chart: str, x: str | None, y: str | None,
        dashboard_id: int | None = None, new_title: str | None = None) -> tuple[DashboardRead, str]:
    """固定到仪表板: a workbench query becomes a panel (the SQL saved as a query of the caller's) of
    one of the caller's dashboards, or of a new one. Returns the dashboard and the new panel's id."""
    _require_account(actor)
    source = {"kind": "query", "sql": sql, "query_name": panel_title, "x": x, "y": y,
              "region_column": x if chart in ("map_china", "map_sichuan") else None}
    panel_data = {"id": "p1", "title": panel_title, "chart": chart, "x": 0, "y": 0, "w": 6, "h": 4,
                  "source": source}
    if dashboard_id is None:
        doc = parse_document({"title": (new_title or "").strip() or "我的仪表板", "panels": [panel_data]})
        made = create_dashboard(session=session, actor=actor, doc=doc)
        return made, "p1"
    d = _own(session, actor, dashboard_id)
    current = DashboardDoc.model_validate(d.document)
    ids = {p.id for p in current.panels}
    n = len(ids) + 1
    while f"p{n}" in ids:
        n += 1
    bottom = max((p.y + p.h for p in current.panels), default=0)
    panel_data.update(id=f"p{n}", y=bottom)
    doc = parse_document({**current.model_dump(mode="json"), "panels": [
        *current.model_dump(mode="json")["panels"], panel_data]})
    return update_dashboard(session=session, actor=actor, dashboard_id=d.id, doc=doc), f"p{n}"


# -- publication -------------------------------------------------------------------------------------

def _check_publishable(session: Session, doc: DashboardDoc) -> None:
    """The publication gate of a dashboard: every panel must be one the anonymous public may see."""
    found: list[dict[str, str]] = []
    for i, p in enumerate(doc.panels):
        if p.source.kind == "query":
            found.append({"where": f"panels.{i}", "problem": f"面板“{p.title}”来自工作台查询：查询只为登录用户按其权限"
                                                             "计算，不能公开发布（请改用已公开的指标）"})
            continue
        ind = _indicator(session, p.source.indicator or "")
        if ind is None or ind.publication != PUBLIC_PROFILE:
            found.append({"where": f"panels.{i}", "problem": f"面板“{p.title}”的指标 {p.source.indicator} 未按"
                                                             f"“{PUBLIC_PROFILE}”（开放）规则公开"})
    if found:
        listing = "；".join(f"{p['where']}：{p['problem']}" for p in found)
        raise InvalidInput(f"仪表板不能公开发布：{listing}", f"The dashboard cannot be published: {listing}",
                           code="dashboard_not_publishable",
                           details={**DETAILS, "action": DASHBOARD_PUBLISH.name, "problems": found})


def publish(*, session: Session, actor: Actor, dashboard_id: int, withdraw: bool = False) -> DashboardRead:
    """Publish the dashboard on the open portal (or withdraw it back to the department)."""
    _require_account(actor)
    d = get_row(session, actor, dashboard_id)
    require(actor, DASHBOARD_PUBLISH, _ref(d))
    if withdraw:
        d.sharing, d.published_at, d.published_by = "department" if d.department_id else "private", None, None
    else:
        _check_publishable(session, DashboardDoc.model_validate(d.document))
        d.sharing, d.published_at, d.published_by = "public", utcnow(), actor.username
    d.revision += 1
    d.updated_at = utcnow()
    record(session, actor, events.AnalysisDashboardPublish(resource_id=str(d.id), details={
        "title": d.title, "withdraw": withdraw}))
    session.flush()
    return _read(d, actor)


# -- panel data --------------------------------------------------------------------------------------

def _indicator(session: Session, code: str) -> AnalysisIndicator | None:
    return session.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == code))


def indicator_visible(actor: Actor, ind: AnalysisIndicator) -> bool:
    """Whether ``actor`` may see the indicator's values: the store's own rule (its publication profile)."""
    return can_see(actor, ind)


def _merged(dash: Filters, src: Filters, asked: Filters | None) -> Filters:
    """The filters in force: the viewer's (the page's filter bar) over the dashboard's over the panel's."""
    regions = (asked.regions if asked and asked.regions else None) or dash.regions or src.regions
    pf = (asked.period_from if asked else None) or dash.period_from or src.period_from
    pt = (asked.period_to if asked else None) or dash.period_to or src.period_to
    return Filters.model_construct(regions=regions, period_from=pf, period_to=pt)


def parse_filters(regions: Sequence[str], period_from: str | None, period_to: str | None) -> Filters | None:
    """The viewer's filters (the page's filter bar), or 422 saying what is wrong with them."""
    if not regions and not period_from and not period_to:
        return None
    try:
        return Filters(regions=list(regions), period_from=period_from or None, period_to=period_to or None)
    except ValidationError as exc:
        found = problems(exc)
        listing = "；".join(p["problem"] for p in found)
        raise InvalidInput(f"筛选条件有误：{listing}", f"Bad filters: {listing}", code="dashboard_filters",
                           details={**DETAILS, "problems": found}) from exc


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _indicator_data(session: Session, actor: Actor, panel: Panel, f: Filters) -> PanelData:
    s = panel.source
    ind = _indicator(session, s.indicator or "")
    if ind is None or not indicator_visible(actor, ind):
        raise NotFound(f"没有代码为 {s.indicator} 的指标（或它不对您公开）",
                       f"No indicator {s.indicator} (or it is not published to you)", code="indicator_not_found",
                       details={**DETAILS, "resource_type": "analysis.indicator", "resource_id": str(s.indicator)})
    v = AnalysisValue
    where: list[Any] = [v.indicator_id == ind.id]
    if f.period_from:
        where.append(v.period >= f.period_from)
    if f.period_to:
        where.append(v.period <= f.period_to)
    stmt = select(v.region_code, v.region, v.site, v.period, v.value).where(*where)
    unit = ind.unit
    if s.view == "compare":  # the two latest periods with provincial values are all it needs
        provincial = [*where, v.region_code.like("__0000"), v.region_code != "000000", v.value.is_not(None)]
        last_two = list(session.scalars(select(v.period).where(*provincial).distinct()
                                        .order_by(v.period.desc()).limit(2)))
        values: Sequence[Any] = session.execute(stmt.where(v.period.in_(last_two))).all() if last_two else []
        derived = _derived(session, actor, ind, last_two[0]) if last_two else {}
        return _compare(panel, ind, values, unit, derived)
    if f.regions:
        wanted = list(f.regions)
        stmt = stmt.where(or_(v.region_code.in_(wanted), v.region.in_(wanted)))
    values = session.execute(stmt.order_by(v.period, v.region_code)).all()
    if panel.chart in ("map_china", "map_sichuan") and values:  # a map shows one period: the latest
        last = max(v.period for v in values)
        values = [v for v in values if v.period == last]
    rows: list[list[Any]] = [[v.period, v.region or v.region_code, v.region_code, v.value, "实际"] for v in values]
    notes = [f"指标 {ind.code} {ind.name}（{unit or '无单位'}）"]
    forecast = False
    regions = {v.region_code for v in values}
    if s.forecast and len(regions) == 1 and panel.chart in ("line", "table"):
        region = values[0]
        fc = _forecast(session, actor, ind, region.region_code, region.site)
        if fc:
            forecast = True
            rows += [[p, region.region or region.region_code, region.region_code, m, "预测"]
                     for p, m in zip(fc["periods"], fc["mean"], strict=False)]
            notes.append(f"“类型”为“预测”的值是模型预测（{fc['model']}，{round(100 * fc['level'])}% 区间 "
                         f"{round(min(fc['lower']), 2)}–{round(max(fc['upper']), 2)}），不是统计数")
    truncated = len(rows) > PANEL_ROWS
    rows = rows[-PANEL_ROWS:]
    if panel.chart == "number" and rows:
        rows = [r for r in rows if r[4] == "实际"][-1:] or rows[-1:]
    cols = [("期别", "string"), ("地区", "string"), ("地区代码", "string"), (ind.name, "double"), ("类型", "string")]
    return PanelData(panel=panel.id, chart=panel.chart, title=panel.title,
                     columns=[{"name": n, "type": t} for n, t in cols], rows=rows, x="期别", y=ind.name,
                     series="地区", region="地区代码", forecast=forecast, unit=unit, truncated=truncated, notes=notes)


_FORECASTS: OrderedDict[tuple[Any, ...], dict[str, Any] | None] = OrderedDict()
_FORECASTS_LOCK = threading.Lock()
FORECASTS_KEPT = 256


def _forecast(session: Session, actor: Actor, ind: AnalysisIndicator, region_code: str,
              site: str) -> dict[str, Any] | None:
    """The store's forecast of one series (model chosen by backtest: seconds of work). The forecast of an
    indicator's series is the same for everyone who may see the indicator, so it is kept per process
    until the indicator is recomputed (its ``computed_at`` and ``revision`` are in the key); who may see
    it is checked on every request before (:func:`indicator_visible`), and nothing of a query panel or
    of any viewer's own data is kept."""
    key = (ind.id, ind.revision, ind.computed_at, region_code, site)
    with _FORECASTS_LOCK:
        if key in _FORECASTS:
            _FORECASTS.move_to_end(key)
            return _FORECASTS[key]
    fc: dict[str, Any] | None = series(session, actor, ind.code, region_code, site).get("forecast")
    with _FORECASTS_LOCK:
        _FORECASTS[key] = fc
        while len(_FORECASTS) > FORECASTS_KEPT:
            _FORECASTS.popitem(last=False)
    return fc


DERIVED_OPS = {"rank": "rank", "share": "share", "yoy": "growth"}


def _derived(session: Session, actor: Actor, ind: AnalysisIndicator, period: str) -> dict[str, dict[str, Any]]:
    """The store's own rank / share / 同比 indicators of ``ind`` (formula indicators whose only input it is)
    that ``actor`` may see, as ``{"rank" | "share" | "growth": {region_code: value}}`` for ``period``."""
    out: dict[str, dict[str, Any]] = {}
    for other in session.scalars(select(AnalysisIndicator).where(AnalysisIndicator.kind == "formula")):
        d = other.definition or {}
        key = DERIVED_OPS.get(str(d.get("op")))
        if key is None or d.get("inputs") != [ind.code] or key in out or not indicator_visible(actor, other):
            continue
        rows = session.execute(select(AnalysisValue.region_code, AnalysisValue.value).where(
            AnalysisValue.indicator_id == other.id, AnalysisValue.period == period, AnalysisValue.site == ""))
        out[key] = {rc: val for rc, val in rows}
        out.setdefault("_codes", {})[key] = other.code
    return out


def _compare(panel: Panel, ind: AnalysisIndicator, values: Sequence[Any], unit: str | None,
             derived: dict[str, dict[str, Any]] | None = None) -> PanelData:
    """Sichuan against the other provinces in the latest period with provincial values: rank,
    share of the provinces' total (or of 全国 when the store holds it), growth on the period before —
    taken from the store's own rank / share / 同比 indicators of ``ind`` when there are such
    (``derived``), else computed here from the two periods."""
    derived = derived or {}
    actual = list(values)
    provinces = [v for v in actual if v.region_code.endswith("0000") and v.region_code != "000000"
                 and v.value is not None]
    periods = sorted({v.period for v in provinces})
    cols = [("地区", "string"), ("地区代码", "string"), (ind.name, "double"), ("排名", "int64"),
            ("占比(%)", "double"), ("增速(%)", "double")]
    if not periods:
        return PanelData(panel=panel.id, chart=panel.chart, title=panel.title,
                         columns=[{"name": n, "type": t} for n, t in cols], notes=["没有分省数据"], unit=unit)
    last = periods[-1]
    prev = {v.region_code: v.value for v in provinces if len(periods) > 1 and v.period == periods[-2]}
    now = sorted((v for v in provinces if v.period == last), key=lambda v: -(v.value or 0.0))
    nation = next((v.value for v in actual if v.region_code == "000000" and v.period == last), None)
    total = nation if nation else sum(v.value or 0.0 for v in now)
    rows: list[list[Any]] = []
    for place, v in enumerate(now, start=1):
        rank: int | None = place
        value = v.value or 0.0
        before = _num(prev.get(v.region_code))
        share = round(100 * value / total, 2) if total else None
        growth = round(100 * (value / before - 1), 2) if before else None
        if v.region_code in derived.get("rank", {}):
            stored = _num(derived["rank"][v.region_code])
            rank = int(stored) if stored is not None else None
        if v.region_code in derived.get("share", {}):
            share = _round(derived["share"][v.region_code])
        if v.region_code in derived.get("growth", {}):
            growth = _round(derived["growth"][v.region_code])
        rows.append([v.region or v.region_code, v.region_code, value, rank, share, growth])
    rows.sort(key=lambda r: (r[3] if r[3] is not None else 10**6))
    sc = next((r for r in rows if r[1] == "510000"), None)
    notes = [f"{last} 期，{len(rows)} 个省份"]
    codes = derived.get("_codes", {})
    if codes:
        notes.append("排名、占比、增速取自指标 " + "、".join(str(c) for c in codes.values()))
    if sc is not None:
        notes.append(f"四川省第 {sc[3]} 名，占比 {sc[4]}%，增速 {sc[5]}%")
    if panel.chart == "number":
        rows = [sc] if sc is not None else rows[:1]
    return PanelData(panel=panel.id, chart=panel.chart, title=panel.title,
                     columns=[{"name": n, "type": t} for n, t in cols], rows=rows, x="地区", y=ind.name,
                     region="地区代码", unit=unit, notes=notes)


def _round(v: Any) -> float | None:
    f = _num(v)
    return round(f, 2) if f is not None else None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def filtered_sql(sql: str, f: Filters, region_column: str | None, period_column: str | None) -> str:
    """The saved SQL with the filters in force, as an outer query (literals quoted, names checked
    by the sandbox like any column).

    >>> print(filtered_sql("SELECT 地区, v FROM t;", Filters(regions=["四川省"], period_from="2020"), "地区", "年"))
    SELECT * FROM (SELECT 地区, v FROM t) AS _panel WHERE "地区" IN ('四川省') AND CAST("年" AS VARCHAR) >= '2020'
    """
    body = sql.strip().rstrip(";").strip()
    where: list[str] = []
    if f.regions and region_column:
        where.append(f"{_ident(region_column)} IN ({', '.join(_lit(r) for r in f.regions)})")
    if period_column and f.period_from:
        where.append(f"CAST({_ident(period_column)} AS VARCHAR) >= {_lit(f.period_from)}")
    if period_column and f.period_to:
        where.append(f"CAST({_ident(period_column)} AS VARCHAR) <= {_lit(f.period_to)}")
    if not where:
        return body
    return f"SELECT * FROM ({body}) AS _panel WHERE {' AND '.join(where)}"


def _query_data(session: Session, settings: Settings, actor: Actor, panel: Panel, f: Filters) -> PanelData:
    s = panel.source
    q = session.get(QuerySaved, s.saved_query_id) if s.saved_query_id else None
    if q is None:
        raise NotFound("面板的查询已被删除", "The panel's saved query was deleted", code="saved_query_not_found",
                       details={**DETAILS, "resource_type": "query.saved", "resource_id": str(s.saved_query_id)})
    sql = filtered_sql(q.sql, f, s.region_column, s.period_column)
    limit = min(PANEL_ROWS, settings.page_size_max)
    result = run_query(session=session, settings=settings, actor=actor, sql=sql, limit=limit, count=False)
    cols = [{"name": c.name, "type": c.type} for c in result.columns]
    names = [c["name"] for c in cols]
    x = s.x if s.x in names else (names[0] if names else None)
    numeric = [c["name"] for c in cols if any(k in c["type"].lower() for k in ("int", "double", "float", "decimal"))]
    y = s.y if s.y in names else next((n for n in numeric if n != x), None)
    rows = result.rows[:1] if panel.chart == "number" else result.rows
    notes = [f"查询“{q.name}”，{len(result.rows)} 行" + ("（已截断）" if result.has_more else "")]
    if f.regions and not s.region_column:
        notes.append("此面板未设地区列，地区筛选未应用（编辑面板可设置）")
    if (f.period_from or f.period_to) and not s.period_column:
        notes.append("此面板未设期别列，期别筛选未应用（编辑面板可设置）")
    return PanelData(panel=panel.id, chart=panel.chart, title=panel.title, columns=cols, rows=rows, x=x, y=y,
                     series=s.series if s.series in names else None,
                     region=s.region_column if s.region_column in names else x, truncated=result.has_more,
                     notes=notes)


def panel_data(*, session: Session, settings: Settings, actor: Actor, dashboard_id: int, panel_id: str,
               asked: Filters | None = None) -> PanelData:
    """One panel's data for ``actor`` — through the sandbox, grants and masking for query panels,
    the indicator's publication rule for indicator panels — with the filters in force."""
    d = get_row(session, actor, dashboard_id)
    doc = DashboardDoc.model_validate(d.document)
    panel = next((p for p in doc.panels if p.id == panel_id), None)
    if panel is None:
        raise NotFound(f"仪表板 {dashboard_id} 没有面板 {panel_id}",
                       f"Dashboard {dashboard_id} has no panel {panel_id}", code="panel_not_found",
                       details={**DETAILS, "resource_id": str(dashboard_id)})
    f = _merged(doc.filters, panel.source, asked)
    if panel.source.kind == "indicator":
        return _indicator_data(session, actor, panel, f)
    return _query_data(session, settings, actor, panel, f)
