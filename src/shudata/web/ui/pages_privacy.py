"""Privacy pages: scan reports per version with the proposed grade (the steward confirms), the
evidence of each finding and the steward's review of a column (overrule: not personal / another
entity, with the reason; withdraw),
re-identification risk before/after as ECharts, operators and policies. Each page calls the
same services as ``/api/v1/privacy``; a refusal (403) is the error page, audited, not a flash."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shudata.catalog.access import find_resource
from shudata.core.errors import PermissionDenied, ShudataError, Unauthenticated
from shudata.privacy import review, service, service_models
from shudata.privacy.entities import ENTITIES, GRADE_LABELS
from shudata.privacy.operators.base import TECHNIQUE_ZH
from shudata.privacy.policy import operators
from shudata.privacy.profiles import PROFILES
from shudata.privacy.schemas import ColumnReviewSave, KanonRequest
from shudata.web.deps import LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import flash, redirect, render

router = APIRouter()
WITHDRAW = "__withdraw__"
R = "/privacy/resources/{code:path}"
RISK_FIELDS = (("prosecutor_max", "最高风险", "highest risk"),
               ("prosecutor_avg", "平均风险（检察官）", "average prosecutor"),
               ("journalist_max", "记者模型最高风险", "journalist max"), ("marketer", "营销者风险", "marketer"),
               ("unique_share", "唯一记录占比", "unique records"))


@router.get("/privacy")
def overview(request: Request, session: SessionDep, actor: UserDep) -> Response:
    reg = operators()
    ops = [{"name": n, "zh": reg.get(n).zh, "technique": TECHNIQUE_ZH[reg.get(n).technique],
            "reversible": reg.get(n).reversible} for n in reg.names()]
    return render(request, "privacy/index.html", {
        "ops": ops, "profiles": PROFILES.values(), "entities": ENTITIES.values(), "grades": GRADE_LABELS,
        "policies": service.list_policies(session=session, actor=actor)})


def risk_chart(before: dict[str, Any], after: dict[str, Any] | None, lang: str) -> str:
    """ECharts option: records per risk band, before and after."""
    bands = [b["band"] for b in before["histogram"]]
    series = [{"name": "之前 before" if lang != "en" else "before", "type": "bar",
               "data": [b["records"] for b in before["histogram"]]}]
    if after:
        series.append({"name": "之后 after" if lang != "en" else "after", "type": "bar",
                       "data": [b["records"] for b in after["histogram"]]})
    return json.dumps({"tooltip": {"trigger": "axis"}, "legend": {}, "xAxis": {"type": "category", "data": bands,
                       "name": "risk"}, "yAxis": {"type": "value", "name": "records"}, "series": series},
                      ensure_ascii=False)


def metrics_chart(before: dict[str, Any], after: dict[str, Any] | None) -> str:
    names = [f[0] for f in RISK_FIELDS]
    series = [{"name": "before", "type": "bar", "data": [before[n] for n in names]}]
    if after:
        series.append({"name": "after", "type": "bar", "data": [after[n] for n in names]})
    return json.dumps({"tooltip": {"trigger": "axis"}, "legend": {}, "xAxis": {"type": "category", "data": names},
                       "yAxis": {"type": "value", "max": 1}, "series": series})


@router.get(R)
def resource_page(request: Request, code: str, session: SessionDep, actor: UserDep, lang: LangDep) -> Response:
    res = find_resource(session, code)
    reports = service.list_scan_reports(session=session, actor=actor, resource=code)
    risks = service_models.risk_reports(session=session, actor=actor, resource_id=res.id)
    charts = [{"row": r, "hist": risk_chart(r.before, r.after, lang), "metrics": metrics_chart(r.before, r.after)}
              for r in risks[:3]]
    reviews = review.list_reviews(session=session, actor=actor, resource=code)
    newest: dict[str, Any] = {}
    for rv in reviews:  # newest first
        newest.setdefault(rv.column, rv)
    in_force = {c: rv for c, rv in newest.items() if not rv.withdrawn}
    return render(request, "privacy/resource.html", {"res": res, "reports": reports, "entities": ENTITIES,
                                                     "grades": GRADE_LABELS, "risks": charts,
                                                     "risk_fields": RISK_FIELDS, "reviews": reviews,
                                                     "in_force": in_force})


@router.post(R + "/review")
def review_column(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                  column: str = Form(...), entity: str = Form(""), reason: str = Form("")) -> Response:
    """The steward's decision on a column: another entity, "not personal" (empty) or withdraw."""
    withdraw = entity == WITHDRAW
    try:
        data = ColumnReviewSave(resource=code, column=column, entity=None if withdraw or not entity else entity,
                                reason=reason.strip() or ("撤销复核" if withdraw else ""), withdraw=withdraw)
        review.review_column(session=session, actor=actor, settings=settings, data=data)
        flash(request, "success", f"已记录对列“{column}”的复核", f"Review of column {column!r} recorded")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    except ValidationError:
        flash(request, "danger", "请写明复核理由（2 到 2000 个字，不含控制字符）",
              "Give the reason for the review (2 to 2,000 characters, no control characters)")
    return redirect(f"/privacy/resources/{code}")


@router.post(R + "/scan")
def scan(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    try:
        rep = service.scan_resource(session=session, actor=actor, settings=settings, resource=code)
        flash(request, "success", f"扫描完成：{rep.proposed_grade_label}", "Scan finished")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    return redirect(f"/privacy/resources/{code}")


@router.post("/privacy/scans/{report_id}/confirm")
def confirm(request: Request, report_id: int, session: SessionDep, actor: UserDep, grade: int = Form(...),
            back: str = Form("/privacy")) -> Response:
    try:
        service.confirm_grade(session=session, actor=actor, report_id=report_id, grade=grade)
        flash(request, "success", "已确认分级", "Grade confirmed")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    return redirect(back if back.startswith("/privacy/") else "/privacy")


@router.post(R + "/anonymise")
def anonymise(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
              qis: str = Form(...), k: int = Form(5), suppression: float = Form(0.0)) -> Response:
    try:
        req = KanonRequest(quasi_identifiers=[q.strip() for q in qis.replace("，", ",").split(",") if q.strip()],
                           k=k, suppression=suppression)
        service_models.anonymise_resource(session=session, actor=actor, settings=settings, resource=code, req=req)
        flash(request, "success", "已完成匿名化评估", "Anonymisation assessed")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    except ValueError as exc:
        flash(request, "danger", f"输入有误：{exc}", f"Invalid input: {exc}")
    return redirect(f"/privacy/resources/{code}")

