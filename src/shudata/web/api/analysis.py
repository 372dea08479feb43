"""/api/v1/analysis routes: the indicator system (指标体系) and early warning (预警) (issue 18).

Thin: parse, call :mod:`shudata.analysis.service`, shape the answer. Open indicators (publication
``open``) are readable anonymously; everything else needs a login.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from shudata.analysis import service
from shudata.analysis.schemas import (
    AckRequest,
    AlertRead,
    AlertsPage,
    IndicatorRead,
    IndicatorWrite,
    LayoutWrite,
    NoticeRead,
    RecomputeRead,
    RuleRead,
    RuleWrite,
    SubscriptionRead,
    SubscriptionWrite,
    ValuesPage,
)
from shudata.web.deps import ActorDep, SessionDep, SettingsDep, UserDep

router = APIRouter(prefix="/analysis", tags=["analysis"])


@router.get("/indicators", response_model=list[IndicatorRead], summary="指标体系 / indicators")
def list_indicators(session: SessionDep, actor: ActorDep,
                    tree: bool = Query(True, description="树形（含 children）或平铺列表")) -> list[IndicatorRead]:
    """The indicators the caller may see (its publication profile decides), as a tree of 一级/二级/三级
    indicators (``children``) or a flat list in hierarchy order. Anonymous callers see the open ones."""
    return service.list_indicators(session, actor, tree=tree)


@router.post("/indicators", response_model=IndicatorRead, status_code=201, summary="新建指标 / define an indicator")
def create_indicator(data: IndicatorWrite, session: SessionDep, actor: UserDep) -> IndicatorRead:
    """Define an indicator of the caller's department (its data stewards): a group heading, an SQL aggregation
    over catalog resources (run through the SQL sandbox as the department), a series of a layout resource's
    long form, or a formula over other indicators. A cycle in the definitions is refused (409). Audited."""
    return service.create_indicator(session, actor, data)


@router.post("/recompute", response_model=RecomputeRead, summary="重算全部指标 / recompute every indicator")
def recompute_all(session: SessionDep, settings: SettingsDep, actor: UserDep) -> RecomputeRead:
    """Recompute every indicator in dependency order, then run the alert rules on new periods (platform
    admin). Indicators that fail keep their values and are listed in ``errors``. Audited."""
    return service.run_recompute(session, settings, actor)


@router.get("/indicators/{code}", response_model=IndicatorRead, summary="指标详情 / one indicator")
def show_indicator(code: str, session: SessionDep, actor: ActorDep) -> IndicatorRead:
    """One indicator: names, unit, frequency, region level, place in the hierarchy, definition, owner
    department, publication, when it was last computed and the last error. 404 when not visible."""
    return service.show_indicator(session, actor, code)


@router.put("/indicators/{code}", response_model=IndicatorRead, summary="修改指标 / change an indicator")
def update_indicator(code: str, data: IndicatorWrite, session: SessionDep, actor: UserDep) -> IndicatorRead:
    """Change an indicator's definition, hierarchy or publication (the owner department's data stewards).
    The code cannot change; a definition that would make a cycle is refused (409). Audited with old and new."""
    return service.update_indicator(session, actor, code, data)


@router.delete("/indicators/{code}", status_code=204, summary="删除指标 / delete an indicator")
def delete_indicator(code: str, session: SessionDep, actor: UserDep) -> Response:
    """Delete an indicator with its values, rules and alerts; refused (409) while another indicator uses it
    or has it as its parent. Audited."""
    service.delete_indicator(session, actor, code)
    return Response(status_code=204)


@router.get("/indicators/{code}/values", response_model=ValuesPage, summary="指标值 / values")
def indicator_values(code: str, session: SessionDep, actor: ActorDep,
                     region: str | None = Query(None, description="地区代码（GB/T 2260，全国为 000000）"),
                     site: str | None = Query(None, description="监测点"),
                     period_from: str | None = Query(None, alias="from", description="起始时期（含）"),
                     period_to: str | None = Query(None, alias="to", description="截止时期（含）"),
                     offset: int = Query(0, ge=0), limit: int = Query(500, ge=1, le=5000)) -> ValuesPage:
    """The indicator's stored values (region × site × period), filtered by region and period, each with
    the catalog resources and lake versions it was computed from."""
    return service.values(session, actor, code, region=region, site=site, period_from=period_from,
                          period_to=period_to, offset=offset, limit=limit)


@router.get("/indicators/{code}/series", summary="序列、同比环比与预测 / series with growth and forecast")
def indicator_series(code: str, session: SessionDep, actor: ActorDep,
                     region: str = Query(..., description="地区代码"),
                     site: str = Query("", description="监测点（无则为空）")) -> dict[str, Any]:
    """One series of the indicator with its 同比 and 环比 growth and, for a complete annual, quarterly or
    monthly series, a forecast with its 80 % prediction interval (chosen by backtest; marked as a forecast)."""
    return service.series(session, actor, code, region, site)


@router.get("/indicators/{code}/trace", summary="值的来源追溯 / where a value came from")
def trace_value(code: str, session: SessionDep, settings: SettingsDep, actor: ActorDep,
                region: str = Query(..., description="地区代码"), period: str = Query(..., description="时期"),
                site: str = Query("", description="监测点（无则为空）")) -> dict[str, Any]:
    """Drill down from one value to its sources: the resources and lake versions, the source file cells (row
    and column) for a layout resource the caller may read raw, and for a formula the input indicators'
    values of the same region."""
    return service.trace(session, settings, actor, code, region, period, site)


@router.post("/indicators/{code}/recompute", response_model=RecomputeRead, summary="重算指标 / recompute")
def recompute_one(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> RecomputeRead:
    """Recompute one indicator and every indicator that depends on it (the owner department's data
    stewards), then run the alert rules on the new periods. Audited."""
    return service.run_recompute(session, settings, actor, code)


@router.get("/indicators/{code}/rules", response_model=list[RuleRead], summary="预警规则 / alert rules")
def list_rules(code: str, session: SessionDep, actor: ActorDep) -> list[RuleRead]:
    """The alert rules of an indicator: level thresholds, 同比/环比 changes, rank moves, anomaly detection."""
    return service.list_rules(session, actor, code)


@router.post("/indicators/{code}/rules", response_model=RuleRead, status_code=201, summary="新建预警规则 / add a rule")
def create_rule(code: str, data: RuleWrite, session: SessionDep, actor: UserDep) -> RuleRead:
    """Add an alert rule to an indicator (the owner department's data stewards); parameters are checked
    (422 with what is wrong). It runs on the periods of the next recompute. Audited."""
    return service.create_rule(session, actor, code, data)


@router.delete("/indicators/{code}/rules/{rule_id}", status_code=204, summary="删除预警规则 / remove a rule")
def delete_rule(code: str, rule_id: int, session: SessionDep, actor: UserDep) -> Response:
    """Remove an alert rule (its past alerts stay in the log). Audited."""
    service.delete_rule(session, actor, code, rule_id)
    return Response(status_code=204)


@router.put("/layouts/{code:path}", summary="声明统计布局 / declare a resource's layout")
def declare_layout(code: str, data: LayoutWrite, session: SessionDep, settings: SettingsDep,
                   actor: UserDep) -> dict[str, Any]:
    """Declare the NBS export or monitoring-table layout of a catalog resource (its data stewards): every
    later version is reshaped to long form (indicator, region, period, value, source row) on ingest, while
    the version itself stays the file as uploaded; the newest version, when it has no long form yet, gets one
    from the lake's table (name the ``indicator`` of an NBS file whose rows are regions). Audited."""
    return service.declare_layout(session, actor, code, data.layout, settings)


@router.get("/alerts", response_model=AlertsPage, summary="预警记录 / the alert log")
def list_alerts(session: SessionDep, actor: ActorDep,
                indicator: str | None = Query(None, description="指标代码"),
                open_only: bool = Query(False, alias="open", description="只看未确认的"),
                severity: str | None = Query(None, description="提示 / 警告 / 严重"),
                offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)) -> AlertsPage:
    """The alert log of the indicators the caller may see, newest first, with who acknowledged each and when."""
    return service.list_alerts(session, actor, indicator=indicator, open_only=open_only, severity=severity,
                               offset=offset, limit=limit)


@router.post("/alerts/{alert_id}/ack", response_model=AlertRead, summary="确认预警 / acknowledge an alert")
def ack_alert(alert_id: int, session: SessionDep, actor: UserDep, data: AckRequest | None = None) -> AlertRead:
    """Acknowledge an alert (the owner department's staff), with an optional comment; an acknowledged alert
    cannot be acknowledged again (409). Audited."""
    return service.ack_alert(session, actor, alert_id, data.comment if data else None)


@router.get("/subscriptions", response_model=list[SubscriptionRead], summary="我的预警订阅 / my subscriptions")
def list_subscriptions(session: SessionDep, actor: UserDep) -> list[SubscriptionRead]:
    """The caller's alert subscriptions (in-app and webhook)."""
    return service.list_subscriptions(session, actor)


@router.post("/subscriptions", response_model=SubscriptionRead, status_code=201, summary="订阅预警 / subscribe")
def subscribe(data: SubscriptionWrite, session: SessionDep, settings: SettingsDep, actor: UserDep) -> SubscriptionRead:
    """Subscribe to the alerts of one indicator or of every indicator the caller sees: in-app notices, or a
    webhook (an http(s) URL to a public address; POSTed as JSON with a timeout, up to three attempts, each
    recorded). Audited."""
    return service.subscribe(session, settings, actor, data)


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="取消订阅 / unsubscribe")
def unsubscribe(sub_id: int, session: SessionDep, actor: UserDep) -> Response:
    """End one of the caller's subscriptions. Audited."""
    service.unsubscribe(session, actor, sub_id)
    return Response(status_code=204)


@router.get("/notices", response_model=list[NoticeRead], summary="站内预警通知 / my alert notices")
def notices(session: SessionDep, actor: UserDep,
            unread: bool = Query(False, description="只看未读")) -> list[NoticeRead]:
    """The caller's in-app alert notices and the records of its webhook deliveries (status, attempts),
    newest first."""
    return service.notices(session, actor, unread_only=unread)
