"""Pages of the indicator system and early warning (issue 18): the indicator tree (``/analysis``), an
indicator (``/analysis/indicators/{indicator}``: series chart with 同比/环比 and a forecast marked 预测,
values table, drill-down to the source rows), a value's trace, and the alert log with its ack buttons
(``/analysis/alerts``). Charts are ECharts options built here and drawn by ``static/js/quality_charts.js``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from shudata.analysis import service
from shudata.analysis.access import can_see, ref
from shudata.analysis.actions import ALERT_ACK, INDICATOR_MANAGE
from shudata.core.errors import Conflict
from shudata.security.authz import allowed
from shudata.web.deps import ActorDep, LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import flash, redirect, render

router = APIRouter()

KIND_LABELS = {"group": ("分组", "group"), "sql": ("SQL 汇总", "SQL aggregation"),
               "series": ("统计布局序列", "layout series"), "formula": ("公式", "formula")}
PUBLICATION_LABELS = {"open": ("公开", "open"), "share-conditional": ("平台内共享", "platform"),
                      "trade": ("交易", "trade"), "internal": ("部门内部", "internal")}
ALERT_KIND_LABELS = {"level": ("水平", "level"), "change": ("变化", "change"), "rank_move": ("位次", "rank"),
                     "anomaly": ("异常", "anomaly")}


@router.get("/analysis")
def indicator_tree(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """指标体系: the indicators the caller sees, by hierarchy."""
    tree = service.list_indicators(session, actor)
    count = sum(1 for _ in _walk(tree))
    return render(request, "analysis/tree.html", {"tree": tree, "count": count, "kinds": KIND_LABELS,
                                                  "publications": PUBLICATION_LABELS})


def _walk(items: list[Any]) -> Any:
    for i in items:
        yield i
        yield from _walk(i.children)


def _chart(s: dict[str, Any], lang: str) -> dict[str, Any]:
    zh = lang != "en"
    fc = s.get("forecast")
    periods = list(s["periods"]) + (fc["periods"] if fc else [])
    pad = [None] * (len(fc["periods"]) if fc else 0)
    series: list[dict[str, Any]] = [{"name": "实际值" if zh else "Actual", "type": "line", "showSymbol": False,
                                     "data": list(s["values"]) + pad}]
    if fc:
        lead = [None] * (len(s["periods"]) - 1) + [s["values"][-1]]
        label = f"预测（{fc['model']}）" if zh else f"Forecast ({fc['model']})"
        band = f"预测 {int(fc['level'] * 100)}% 区间" if zh else f"{int(fc['level'] * 100)}% interval"
        series += [
            {"name": label, "type": "line", "lineStyle": {"type": "dashed"}, "showSymbol": False,
             "data": lead + fc["mean"]},
            {"name": band, "type": "line", "stack": "band", "lineStyle": {"opacity": 0}, "showSymbol": False,
             "data": [None] * len(s["periods"]) + fc["lower"]},
            {"name": band, "type": "line", "stack": "band", "lineStyle": {"opacity": 0}, "showSymbol": False,
             "areaStyle": {"opacity": 0.2}, "data": pad and [None] * len(s["periods"])
             + [u - lo for u, lo in zip(fc["upper"], fc["lower"], strict=True)]},
        ]
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 36, "bottom": 40},
        "xAxis": {"type": "category", "data": periods}, "yAxis": {"type": "value", "name": s.get("unit") or "",
                                                                  "scale": True},
        "series": series}
    if fc:
        option["series"][0]["markArea"] = {"silent": True, "itemStyle": {"color": "rgba(255,193,7,0.08)"},
                                           "data": [[{"name": "预测" if zh else "Forecast",
                                                      "xAxis": fc["periods"][0]}, {"xAxis": fc["periods"][-1]}]]}
    return option


def _growth_chart(s: dict[str, Any], lang: str) -> dict[str, Any] | None:
    zh = lang != "en"
    series = []
    if any(v is not None for v in s["yoy"]):
        series.append({"name": "同比（%）" if zh else "YoY (%)", "type": "bar", "data": s["yoy"]})
    if any(v is not None for v in s["mom"]):
        series.append({"name": "环比（%）" if zh else "MoM (%)", "type": "line", "showSymbol": False, "data": s["mom"]})
    if not series:
        return None
    return {"tooltip": {"trigger": "axis"}, "legend": {"top": 0},
            "grid": {"left": 60, "right": 20, "top": 36, "bottom": 40},
            "xAxis": {"type": "category", "data": s["periods"]}, "yAxis": {"type": "value", "name": "%"},
            "series": series}


@router.get("/analysis/indicators/{indicator}")
def indicator_page(request: Request, indicator: str, session: SessionDep, actor: ActorDep, lang: LangDep,
                   region: str | None = Query(None, max_length=12), site: str = Query("", max_length=80),
                   series: str | None = Query(None, max_length=100)) -> Response:
    """One indicator: definition, the series of one region with 同比/环比 and a forecast, the values table."""
    if series and "|" in series:  # the region selector: "region|site"
        region, site = series.split("|", 1)
    ind = service.show_indicator(session, actor, indicator)
    regions = service.regions_of(session, actor, indicator)
    if region is None and regions:
        region, site = _default_region(regions)
    data = service.series(session, actor, indicator, region, site) if region else None
    yoy = dict(zip(data["periods"], data["yoy"], strict=False)) if data and data["yoy"] else {}
    page = service.values(session, actor, indicator, region=region, site=site, limit=5000) if region else None
    rows = list(reversed(page.items))[:60] if page else []
    rules = service.list_rules(session, actor, indicator)
    alerts = service.list_alerts(session, actor, indicator=indicator, limit=10)
    row = service.get_indicator(session, actor, indicator)
    return render(request, "analysis/indicator.html", {
        "ind": ind, "regions": regions, "region": region, "site": site, "series": data, "rows": rows, "yoy": yoy,
        "total": page.total if page else 0, "rules": rules, "alerts": alerts.items,
        "chart": json.dumps(_chart(data, lang), ensure_ascii=False) if data and data["periods"] else None,
        "growth": json.dumps(g, ensure_ascii=False) if data and (g := _growth_chart(data, lang)) else None,
        "kinds": KIND_LABELS, "publications": PUBLICATION_LABELS,
        "definition": json.dumps(ind.definition, ensure_ascii=False, indent=2),
        "can_manage": allowed(actor, INDICATOR_MANAGE, ref(row))})


def _default_region(regions: list[dict[str, Any]]) -> tuple[str, str]:
    for r in regions:  # Sichuan first, then its cities, then the first one
        if r["region_code"] == "510000":
            return r["region_code"], r["site"]
    for r in regions:
        if r["region_code"].startswith("51"):
            return r["region_code"], r["site"]
    return regions[0]["region_code"], regions[0]["site"]


@router.get("/analysis/indicators/{indicator}/trace")
def trace_page(request: Request, indicator: str, session: SessionDep, settings: SettingsDep, actor: ActorDep,
               region: str = Query(..., max_length=12), period: str = Query(..., max_length=20),
               site: str = Query("", max_length=80)) -> Response:
    """数据溯源: where one value came from — versions, the source file's cells, the inputs of a formula."""
    ind = service.show_indicator(session, actor, indicator)
    tr = service.trace(session, settings, actor, indicator, region, period, site)
    return render(request, "analysis/trace.html", {"ind": ind, "trace": tr})


@router.post("/analysis/indicators/{indicator}/recompute")
def recompute_page(request: Request, indicator: str, session: SessionDep, settings: SettingsDep,
                   actor: UserDep) -> Response:
    run = service.run_recompute(session, settings, actor, indicator)
    flash(request, "success" if not run.errors else "warning",
          f"已重新计算 {len(run.indicators)} 个指标，{run.values} 个值，新预警 {run.alerts} 条"
          + (f"；{len(run.errors)} 个失败" if run.errors else ""),
          f"Recomputed {len(run.indicators)} indicators, {run.values} values, {run.alerts} new alerts"
          + (f"; {len(run.errors)} failed" if run.errors else ""))
    return redirect(f"/analysis/indicators/{indicator}")


@router.get("/analysis/alerts")
def alerts_page(request: Request, session: SessionDep, actor: ActorDep,
                status: str = Query("open", pattern="^(open|all)$"),
                indicator: str | None = Query(None, max_length=64),
                offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200)) -> Response:
    """预警: the alert log of the indicators the caller sees, with ack buttons for their department's."""
    page = service.list_alerts(session, actor, indicator=indicator or None, open_only=status == "open",
                               offset=offset, limit=limit)
    can_ack = {}
    inds = {i.code: i for i in service.indicator_rows(session, [a.indicator for a in page.items])}
    for a in page.items:
        row = inds.get(a.indicator)
        can_ack[a.id] = bool(row is not None and can_see(actor, row) and allowed(actor, ALERT_ACK, ref(row)))
    notices = service.notices(session, actor, unread_only=True) if actor.user_id is not None else []
    return render(request, "analysis/alerts.html", {
        "page": page, "status": status, "indicator": indicator or "", "can_ack": can_ack,
        "kinds": ALERT_KIND_LABELS, "unread": len(notices)})


@router.post("/analysis/alerts/{alert_id}/ack")
def ack_page(request: Request, alert_id: int, session: SessionDep, actor: UserDep,
             comment: str = Form("", max_length=500), back: str = Form("/analysis/alerts")) -> Response:
    try:
        service.ack_alert(session, actor, alert_id, comment or None)
        flash(request, "success", f"预警 #{alert_id} 已确认", f"Alert #{alert_id} acknowledged")
    except Conflict as exc:  # acknowledged meanwhile: say by whom (a refusal propagates: 403, audited)
        session.rollback()
        flash(request, "warning", exc.message("zh-CN"), exc.message("en"))
    return redirect(back if back.startswith("/analysis/") else "/analysis/alerts")
