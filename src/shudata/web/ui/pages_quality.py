"""Quality pages: dashboards, an entry's rules (YAML editor), checks and reports with ECharts,
the quarantine (fix, release, export), cleaning pipelines with preview, clusters and lineage.
Each page calls the same services as ``/api/v1/quality``."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shudata.catalog.access import find_resource
from shudata.core.errors import InvalidInput, PermissionDenied, ShudataError
from shudata.core.types import Actor
from shudata.quality import cleaning_service, dashboard, quarantine_service, report, service
from shudata.quality.rule_base import DIMENSION_LABELS
from shudata.quality.spec_files import parse_spec_text
from shudata.web.deps import LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import flash, redirect, render

router = APIRouter()
E = "/quality/resources/{code:path}"

RULES_EXAMPLE = """rules:
  - {type: not_null, column: 名称, severity: block}
  - {type: unique, columns: [名称]}
  - {type: enum, column: 等级, values: [5A, 4A, 3A, 2A, 1A]}
"""
PIPELINE_EXAMPLE = """name: 标准清洗
steps:
  - {step: trim, columns: [名称, 地址]}
  - {step: dedupe, columns: [名称]}
"""


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


@router.get("/quality")
def overview(request: Request, session: SessionDep, actor: UserDep) -> Response:
    platform = None
    if actor.is_admin or any(r.value == "auditor" for r in actor.roles):
        platform = dashboard.platform_dashboard(session=session, actor=actor)
    dept = None
    if actor.department_id is not None:
        try:
            dept = dashboard.department_dashboard(session=session, actor=actor, department_id=actor.department_id)
        except PermissionDenied:
            dept = None
    chart = None
    if platform:
        deps = platform["departments"]
        chart = json.dumps({"tooltip": {}, "xAxis": {"type": "category", "data": [d["department"] for d in deps]},
                            "yAxis": {"type": "value", "max": 100},
                            "series": [{"type": "bar", "data": [d["average"] for d in deps]}]}, ensure_ascii=False)
    return render(request, "quality/dashboard.html", {"platform": platform, "dept": dept, "dims": DIMENSION_LABELS,
                                                      "platform_chart": chart})


def _entry_ctx(session: Any, actor: Actor, code: str) -> dict[str, Any]:
    res = find_resource(session, code)
    rules = service.get_rule_set(session=session, actor=actor, resource=code)
    runs = service.list_runs(session=session, actor=actor, resource=code)
    trend = service.scores_trend(session, res.id)
    chart = {"tooltip": {"trigger": "axis"}, "xAxis": {"type": "category", "data": [f"v{t['version']}" for t in trend]},
             "yAxis": {"type": "value", "min": 0, "max": 100},
             "series": [{"name": "overall", "type": "line", "data": [t["scores"].get("overall") for t in trend]}]}
    return {"res": res, "rules": rules, "rules_yaml": _yaml(rules.spec) if rules else RULES_EXAMPLE,
            "runs": runs, "trend_chart": json.dumps(chart, ensure_ascii=False), "dims": DIMENSION_LABELS,
            "error": None}


@router.post(E + "/rules")
def save_rules(request: Request, code: str, session: SessionDep, actor: UserDep, lang: LangDep,
               spec: str = Form(...), comment: str = Form("")) -> Response:
    try:
        saved = service.save_rule_set(session=session, actor=actor, resource=code, spec=parse_spec_text(spec),
                                      comment=comment or None)
    except InvalidInput as exc:
        session.rollback()
        ctx = _entry_ctx(session, actor, code)
        ctx.update(rules_yaml=spec, error=exc.message(lang))
        return render(request, "quality/entry.html", ctx, status_code=422)
    flash(request, "success", f"规则已保存（第 {saved.revision} 版）", f"Rules saved (revision {saved.revision})")
    return redirect(f"/quality/resources/{code}")


@router.post(E + "/check")
def run_check(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    run = service.check(session=session, settings=settings, actor=actor, resource=code)
    return redirect(f"/quality/runs/{run.id}")


@router.get("/quality/runs/{run_id}")
def run_page(request: Request, run_id: int, session: SessionDep, actor: UserDep) -> Response:
    data = report.report_data(session=session, actor=actor, run_id=run_id)
    charts = {k: json.dumps(v, ensure_ascii=False) for k, v in report.chart_options(data).items()}
    return render(request, "quality/report.html", {"data": data, "run": data["run"], "res": data["resource"],
                                                   "charts": charts, "dims": DIMENSION_LABELS,
                                                   "status_zh": report.STATUS_ZH})


@router.get(E + "/quarantine")
def quarantine_page(request: Request, code: str, session: SessionDep, actor: UserDep,
                    status: str = Query("open", pattern="^(open|fixed|released)$"),
                    offset: int = Query(0, ge=0)) -> Response:
    page = quarantine_service.list_rows(session=session, actor=actor, resource=code, status=status, offset=offset,
                                        limit=50)
    res = find_resource(session, code)
    return render(request, "quality/quarantine.html", {"res": res, "page": page, "status": status})


@router.post("/quality/quarantine/{row_id}/fix")
async def fix_row(request: Request, row_id: int, session: SessionDep, settings: SettingsDep,
                  actor: UserDep) -> Response:
    form = await request.form()
    data = {k[5:]: (str(v) if str(v) != "" else None) for k, v in form.items() if k.startswith("data:")}
    back = str(form.get("back") or "/quality")
    if not back.startswith("/") or back.startswith("//"):
        back = "/quality"
    try:
        row = await run_in_threadpool(quarantine_service.fix_row, session=session, settings=settings, actor=actor,
                                      row_id=row_id, data=data)
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
        return redirect(back)
    if row.status == "fixed":
        flash(request, "success", "该行已通过拦截规则，标记为已修正", "The row now passes; marked fixed")
    else:
        flash(request, "warning", f"该行仍未通过：{'、'.join(row.rules)}", f"Still failing: {', '.join(row.rules)}")
    return redirect(back)


@router.post(E + "/quarantine/release")
def release(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    try:
        out = quarantine_service.release_fixed(session=session, settings=settings, actor=actor, resource=code)
    except InvalidInput as exc:
        flash(request, "warning", exc.zh, exc.en)
    else:
        flash(request, "success", f"已发布 {out['rows']} 行为版本 {out['version']}",
              f"Released {out['rows']} rows as version {out['version']}")
    return redirect(f"/quality/resources/{code}/quarantine")


def _clean_ctx(session: Any, actor: Actor, code: str) -> dict[str, Any]:
    res = find_resource(session, code)
    pipes = cleaning_service.list_pipelines(session=session, actor=actor, resource=code)
    return {"res": res, "pipelines": pipes, "lineage": cleaning_service.lineage(session=session, actor=actor,
                                                                                resource=code),
            "pipeline_yaml": _yaml(pipes[0]["spec"]) if pipes else PIPELINE_EXAMPLE, "preview": None,
            "error": None, "clusters": None, "cluster_yaml": None, "column": ""}


@router.get(E + "/clean")
def clean_page(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
               column: str = "") -> Response:
    ctx = _clean_ctx(session, actor, code)
    if column:
        found = cleaning_service.cluster_preview(session=session, settings=settings, actor=actor, resource=code,
                                                 column=column)
        mapping = {v["value"]: c["suggested"] for c in found for v in c["values"] if v["value"] != c["suggested"]}
        ctx.update(clusters=found, column=column, cluster_yaml=_yaml(
            {"step": "map_values", "column": column, "mapping": mapping}) if mapping else None)
    return render(request, "quality/clean.html", ctx)


@router.post(E + "/clean")
def clean_action(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                 lang: LangDep, spec: str = Form(...), action: str = Form("preview")) -> Response:
    try:
        parsed = parse_spec_text(spec)
        if action == "save":
            saved = cleaning_service.save_pipeline(session=session, actor=actor, resource=code, spec=parsed)
            flash(request, "success", f"清洗流程“{saved['name']}”已保存", f"Pipeline {saved['name']!r} saved")
            return redirect(f"/quality/resources/{code}/clean")
        if action == "run":
            lin = cleaning_service.clean(session=session, settings=settings, actor=actor, resource=code,
                                         pipeline=parsed)
            flash(request, "success", f"清洗完成：版本 {lin.source_version} → {lin.target_version}",
                  f"Cleaned: version {lin.source_version} → {lin.target_version}")
            return redirect(f"/quality/resources/{code}/clean")
        preview = cleaning_service.preview_clean(session=session, settings=settings, actor=actor, resource=code,
                                                 pipeline=parsed)
    except InvalidInput as exc:
        session.rollback()
        ctx = _clean_ctx(session, actor, code)
        ctx.update(pipeline_yaml=spec, error=exc.message(lang))
        return render(request, "quality/clean.html", ctx, status_code=422)
    ctx = _clean_ctx(session, actor, code)
    ctx.update(pipeline_yaml=spec, preview=preview)
    return render(request, "quality/clean.html", ctx)


# Last: ``{code:path}`` would otherwise swallow the suffixed routes above.
@router.get(E)
def entry_page(request: Request, code: str, session: SessionDep, actor: UserDep) -> Response:
    return render(request, "quality/entry.html", _entry_ctx(session, actor, code))
