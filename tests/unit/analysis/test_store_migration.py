"""0007 → 0008 (the indicator store) on a store holding platform data: a department, a user, a
catalog entry and its lake version stay; indicators, values, layouts, recompute runs, alert rules,
subscriptions, alerts and deliveries can be written and read; the downgrade removes only these tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from support.migrations import Step, department, lake_version, resource, user

STEP = Step("0007_market_rights", "0008_analysis", has="market_valuation", adds={
    "analysis_indicator", "analysis_value", "analysis_layout", "analysis_recompute", "analysis_alert_rule",
    "analysis_subscription", "analysis_alert", "analysis_delivery"})
ROWS = [department(), user(1, "analyst", roles=["steward"]), resource(code="101001/000001"),
        lake_version(source_name="gdp.xls")]


def test_upgrade_from_0007_keeps_the_data_and_the_indicator_store_works(db_url: str) -> None:
    from shudata.analysis.models import (
        AnalysisAlert,
        AnalysisAlertRule,
        AnalysisDelivery,
        AnalysisIndicator,
        AnalysisLayout,
        AnalysisRecompute,
        AnalysisSubscription,
        AnalysisValue,
    )
    from shudata.catalog.models import CatalogResource
    from shudata.lake.models import LakeVersion

    with STEP.upgraded(db_url, ROWS) as engine:
        with Session(engine) as s, s.begin():
            top = AnalysisIndicator(code="ECO", name="经济运行", frequency="年", region_level="省", level=1,
                                    kind="group", owner_department_id=1, publication="open", created_by="analyst")
            s.add(top)
            s.flush()
            gdp = AnalysisIndicator(code="GDP", name="地区生产总值", unit="亿元", frequency="年", region_level="省",
                                    parent_id=top.id, level=2, kind="sql", owner_department_id=1,
                                    definition={"kind": "sql", "sql": "SELECT 1", "resources": ["101001/000001"]},
                                    created_by="analyst")
            s.add(gdp)
            s.flush()
            s.add(AnalysisValue(indicator_id=gdp.id, region_code="510000", region="四川省", period="2024",
                                period_start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), value=64697.0,
                                sources=[{"resource_id": 1, "version": 1}], source_rows=[12]))
            s.add(AnalysisLayout(resource_id=1, layout={"kind": "nbs"}, created_by="analyst"))
            run = AnalysisRecompute(trigger="version", resource_id=1, version=1, indicators=["GDP"], values=1,
                                    created_by="system")
            rule = AnalysisAlertRule(indicator_id=gdp.id, name="GDP 低于阈值", kind="level",
                                     params={"op": "<", "value": 1}, created_by="analyst")
            sub = AnalysisSubscription(user_id=1, channel="webhook", url="https://example.org/hook")
            s.add_all([run, rule, sub])
            s.flush()
            alert = AnalysisAlert(key=f"{rule.id}|510000||2024", rule_id=rule.id, indicator_id=gdp.id, kind="level",
                                  severity="警告", region_code="510000", period="2024", value=1.0, message_zh="低",
                                  message_en="low", recompute_id=run.id)
            s.add(alert)
            s.flush()
            s.add(AnalysisDelivery(alert_id=alert.id, subscription_id=sub.id, user_id=1, channel="webhook",
                                   status="failed", attempts=3, log=[{"status": 500}]))
        with Session(engine) as s:
            assert s.scalar(select(CatalogResource.code)) == "101001/000001"
            assert s.scalar(select(LakeVersion.source_name)) == "gdp.xls"
            assert s.scalar(select(AnalysisValue.sources))[0]["version"] == 1
            assert s.scalar(select(AnalysisIndicator.parent_id).where(AnalysisIndicator.code == "GDP")) is not None
            assert s.scalar(select(AnalysisDelivery.attempts)) == 3
        STEP.downgrade(engine, keeps={"catalog_resource", "lake_version", "market_valuation"})
