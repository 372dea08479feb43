"""0007 → 0008 (the indicator store) on a store holding platform data: a department, a user, a
catalog entry and its lake version stay; indicators, values, layouts, recompute runs, alert rules,
subscriptions, alerts and deliveries can be written and read; the downgrade removes only these tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, create_engine, inspect, select
from sqlalchemy.orm import Session

from shudata.db.migrate import downgrade, upgrade
from support.migrations import NOW, old_row

TABLES = {"analysis_indicator", "analysis_value", "analysis_layout", "analysis_recompute", "analysis_alert_rule",
          "analysis_subscription", "analysis_alert", "analysis_delivery"}


def _seed_0007(engine: object) -> None:
    meta = MetaData()
    meta.reflect(engine)  # type: ignore[arg-type]
    assert "market_valuation" in meta.tables and "analysis_indicator" not in meta.tables  # really 0007
    t = meta.tables
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(t["security_department"].insert().values(old_row(
            t["security_department"], id=1, name="四川省统计局", uscc="11510000000000001X", region_code="510000",
            created_at=NOW)))
        conn.execute(t["security_user"].insert().values(old_row(
            t["security_user"], id=1, username="analyst", display_name="分析员", password_hash="x",
            department_id=1, roles=["steward"], created_at=NOW)))
        conn.execute(t["catalog_resource"].insert().values(old_row(
            t["catalog_resource"], id=1, code="101001/000001", name="分省年度地区生产总值", classification="101",
            provider_department_id=1, information_items=[], related_codes=[], tags=[], created_at=NOW,
            updated_at=NOW)))
        conn.execute(t["lake_version"].insert().values(old_row(
            t["lake_version"], id=1, resource_id=1, version=1, rows=31, columns=[], source_name="gdp.xls",
            source_format="xls", storage_path="r1/v1", created_by="loader", created_at=NOW)))


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

    engine = create_engine(db_url)
    downgrade(engine, "base")
    upgrade(engine, "0007_market_rights")
    _seed_0007(engine)
    upgrade(engine, "0008_analysis")
    assert set(inspect(engine).get_table_names()) >= TABLES
    with Session(engine) as s, s.begin():
        top = AnalysisIndicator(code="ECO", name="经济运行", frequency="年", region_level="省", level=1, kind="group",
                                owner_department_id=1, publication="open", created_by="analyst")
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
    downgrade(engine, "0007_market_rights")
    names = set(inspect(engine).get_table_names())
    assert not TABLES & names and {"catalog_resource", "lake_version", "market_valuation"} <= names
    upgrade(engine)
    engine.dispose()
