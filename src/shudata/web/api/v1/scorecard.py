"""/api/v1 routes of the assessment scorecard (评估考核, issue 18): the scorecard, its trend by
quarter, and the XLSX of an annual assessment. Platform admin and auditors only."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from shudata.analysis import scorecard
from shudata.core.clock import utcnow
from shudata.lake.export import content_disposition
from shudata.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(tags=["scorecard"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(year: int | None) -> int:
    return year if year is not None else utcnow().year


@router.get("/scorecard", summary="评估考核计分卡 / the assessment scorecard")
def get_scorecard(session: SessionDep, settings: SettingsDep, actor: ActorDep,
                  year: int | None = Query(None, ge=2000, le=2100, description="年度（默认今年）"),
                  quarter: int | None = Query(None, ge=1, le=4, description="季度（空：全年）"),
                  level: Literal["department", "city"] = Query("department", description="各部门 / 各市州"),
                  ) -> dict[str, Any]:
    """各部门（或各市州）六项指标的得分、权重折算分、总分与排名，以及每项的原始数据和计算方法。
    Scores, weighted points, totals and ranks of every department (or city), with the raw figures."""
    return scorecard.compute(session=session, settings=settings, actor=actor, year=_year(year), quarter=quarter,
                             level=level).as_dict()


@router.get("/scorecard/trend", summary="评估考核按季度趋势 / totals by quarter")
def get_trend(session: SessionDep, settings: SettingsDep, actor: ActorDep,
              year: int | None = Query(None, ge=2000, le=2100, description="年度（默认今年）"),
              level: Literal["department", "city"] = Query("department")) -> dict[str, Any]:
    """该年度各季度末的总分与排名（按部门或按市州节点），用于看趋势；仅平台管理员与审计员可用。
    Totals and ranks at the end of each quarter of the year, by department or city node."""
    return scorecard.trend(session=session, settings=settings, actor=actor, year=_year(year), level=level)


@router.get("/scorecard/export.xlsx", summary="导出评估考核表（XLSX）/ the assessment as XLSX",
            responses={200: {"content": {XLSX: {}}}})
def export_xlsx(session: SessionDep, settings: SettingsDep, actor: ActorDep,
                year: int | None = Query(None, ge=2000, le=2100), quarter: int | None = Query(None, ge=1, le=4),
                level: Literal["department", "city"] = Query("department")) -> Response:
    """年度考核表版式：标题行、单位列、每项指标一列（表头含权重）、总分、排名、计分说明；另附原始数据表。"""
    card = scorecard.compute(session=session, settings=settings, actor=actor, year=_year(year), quarter=quarter,
                             level=level)
    data = scorecard.to_xlsx(card, session=session, actor=actor)
    name = f"{card.period.label}评估考核（{scorecard.LEVELS[level][0]}）.xlsx"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": content_disposition(name)})
