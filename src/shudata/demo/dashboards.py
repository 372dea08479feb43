"""The demo's dashboards (issue 18): 四川经济运行监测, published on the open portal by the statistics
bureau's steward — Sichuan against the other provinces (map, rank, share, growth), 同比 from the
store's formula indicators, M2 with its forecast, CPI by province, PM2.5 of Sichuan's cities — and a
department dashboard with a workbench query panel.

Idempotent: a dashboard whose title exists already is left as it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.analysis import dashboards
from shudata.analysis.dashboards_models import AnalysisDashboard
from shudata.analysis.models import AnalysisIndicator
from shudata.core.types import Actor
from shudata.security.models import User
from shudata.security.service import actor_for

OWNER = "tjj_steward"
PUBLIC_TITLE = "四川经济运行监测"
DEPT_TITLE = "市场主体与人口（部门内）"


def _p(pid: str, title: str, chart: str, x: int, y: int, w: int, h: int, **source: Any) -> dict[str, Any]:
    return {"id": pid, "title": title, "chart": chart, "x": x, "y": y, "w": w, "h": h,
            "source": {"kind": "indicator", **source}}


PUBLIC_PANELS = (
    _p("gdp_map", "地区生产总值：各省（最新年度）", "map_china", 0, 0, 8, 5, indicator="GDP.PROV", view="compare"),
    _p("gdp_sc", "四川地区生产总值（排名、占比、增速见注）", "number", 8, 0, 4, 2, indicator="GDP.PROV",
       view="compare"),
    _p("gdp_rank", "各省地区生产总值排名", "table", 8, 2, 4, 3, indicator="GDP.PROV", view="compare"),
    _p("gdp_growth", "四川地区生产总值同比增长", "line", 0, 5, 6, 4, indicator="GDP.PROV.GROWTH", regions=["510000"]),
    _p("m2", "货币和准货币（M2）供应量及预测", "line", 6, 5, 6, 4, indicator="M2", forecast=True,
       period_from="2015-01"),
    _p("cpi", "居民消费价格指数（分省，最新月份）", "bar", 0, 9, 6, 4, indicator="CPI.PROV", view="compare"),
    _p("pm25", "市州 PM2.5 日均浓度（最新一日）", "map_sichuan", 6, 9, 6, 4, indicator="ENV.CITY.PM25.DAY"),
)


def _actor(session: Session, username: str) -> Actor | None:
    user = session.scalar(select(User).where(User.username == username))
    return actor_for(user) if user is not None else None


def load_dashboards(session: Session) -> bool:
    """Install the demo dashboards (when the indicators they draw are there); whether any was made."""
    owner = _actor(session, OWNER)
    if owner is None:
        return False
    known = set(session.scalars(select(AnalysisIndicator.code)))
    panels = [p for p in PUBLIC_PANELS if p["source"]["indicator"] in known]
    made = False
    if panels and session.scalar(select(AnalysisDashboard.id).where(AnalysisDashboard.title == PUBLIC_TITLE)) is None:
        doc = dashboards.parse_document({"title": PUBLIC_TITLE, "description": "国家统计局分省、全国月度数据与生态环境"
                                         "监测数据；指标由指标体系计算，预测值另行标注。", "panels": panels})
        d = dashboards.create_dashboard(session=session, actor=owner, doc=doc, sharing="department")
        dashboards.publish(session=session, actor=owner, dashboard_id=d.id)
        made = True
    if session.scalar(select(AnalysisDashboard.id).where(AnalysisDashboard.title == DEPT_TITLE)) is None and \
            "POP.NAT" in known:
        doc = dashboards.parse_document({"title": DEPT_TITLE, "panels": [
            _p("pop", "年末总人口", "line", 0, 0, 6, 4, indicator="POP.NAT", period_from="1990"),
            _p("urban", "城镇化率", "line", 6, 0, 6, 4, indicator="POP.NAT.URBAN.RATE", period_from="1990")]})
        dashboards.create_dashboard(session=session, actor=owner, doc=doc, sharing="department")
        made = True
    return made
