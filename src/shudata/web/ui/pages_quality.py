"""Quality pages: dashboards, an entry's rules (YAML editor, and suggested rules accepted, edited
or dropped in a form), checks and reports with ECharts,
the quarantine (fix, release, export), cleaning pipelines with preview, clusters and lineage.
Each page calls the same services as ``/api/v1/quality``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shudata.catalog.access import find_resource
from shudata.core.errors import InvalidInput, PermissionDenied, ShudataError
from shudata.core.i18n import tr
from shudata.core.types import Actor
from shudata.quality import actions as QA
from shudata.quality import cleaning_service, dashboard, quarantine_service, report, service
from shudata.quality.models import QualityRun
from shudata.quality.rule_base import DIMENSION_LABELS, SEVERITY_LABELS, parse_rule
from shudata.quality.schemas import RuleSuggestions
from shudata.quality.spec_files import parse_spec_text
from shudata.security.authz import allowed
from shudata.web.deps import LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import flash, redirect, render

router = APIRouter()
E = "/quality/resources/{code:path}"

# Only a placeholder: a new entry's rules box starts empty (its own suggestions are offered below
# it), never with another table's rules.
RULES_PLACEHOLDER = """# 示例 / example
rules:
  - {type: not_null, column: 列名, severity: block}
  - {type: range, column: 列名, min: 0, max: 100}"""
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
    if allowed(actor, QA.DASHBOARD_PLATFORM):  # the service checks it too; here it only picks the panels
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


def _entry_ctx(session: Any, actor: Actor, code: str, lang: str = "zh-CN") -> dict[str, Any]:
    res = find_resource(session, code)
    rules = service.get_rule_set(session=session, actor=actor, resource=code)
    runs = service.list_runs(session=session, actor=actor, resource=code)
    trend = service.scores_trend(session, res.id)
    chart = {"tooltip": {"trigger": "axis"}, "xAxis": {"type": "category", "data": [f"v{t['version']}" for t in trend]},
             "yAxis": {"type": "value", "min": 0, "max": 100},
             "series": [{"name": tr(lang, "总分", "Overall"), "type": "line",
                         "data": [t["scores"].get("overall") for t in trend]}]}
    return {"res": res, "rules": rules, "rules_yaml": _yaml(rules.spec) if rules else "",
            "rules_placeholder": RULES_PLACEHOLDER,
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


def _suggestion_items(sugg: RuleSuggestions) -> list[dict[str, Any]]:
    return [_item(x.key, x.rule, x.rule, x.sentence_zh, x.sentence_en, x.reason, True) for x in sugg.suggestions]


def _item(key: str, rule: dict[str, Any], original: dict[str, Any], zh: str, en: str, reason: str,
          keep: bool) -> dict[str, Any]:
    values = rule.get("values")
    text = "\n".join(value_line(str(v)) for v in values) if isinstance(values, list) else ""
    reason_zh, _, reason_en = reason.partition(" / ")
    return {"key": key, "rule": rule, "original": original, "sentence_zh": zh, "sentence_en": en,
            "reason_zh": reason_zh, "reason_en": reason_en or reason_zh, "keep": keep, "values_text": text}


def _render_suggestions(request: Request, res: Any, sugg: RuleSuggestions, items: list[dict[str, Any]],
                        error: str | None = None, status_code: int = 200) -> Response:
    ctx = {"res": res, "sugg": sugg, "items": items, "suggest_error": error, "severities": SEVERITY_LABELS,
           "resubmitted": error is not None}
    name = "quality/_suggestions.html" if request.headers.get("HX-Request") else "quality/suggestions.html"
    return render(request, name, ctx, status_code=status_code)


@router.get(E + "/suggestions")
def suggestions(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    """The rules suggested from the newest data, as a form (an htmx fragment of the entry page)."""
    res = find_resource(session, code)
    try:
        sugg = service.suggest_rules(session=session, settings=settings, actor=actor, resource=code)
    except PermissionDenied:
        if not request.headers.get("HX-Request"):
            raise
        # on the entry page of a reader who may not edit the rules: say so instead of a spinner
        return render(request, "quality/_suggestions.html", {
            "res": res, "sugg": RuleSuggestions(resource_code=res.code), "items": [], "severities": SEVERITY_LABELS,
            "denied": True, "resubmitted": False, "suggest_error": None})
    return _render_suggestions(request, res, sugg, _suggestion_items(sugg))


_SPLIT_VALUES = re.compile(r"\r?\n")


def edited_rule(original: dict[str, Any], form: Mapping[str, Any], i: int) -> dict[str, Any]:
    """A suggested rule with the steward's edits of row ``i`` (severity, min/max, code list).

    >>> edited_rule({"type": "range", "column": "x", "min": 0, "max": 10}, {"min_0": "", "max_0": " 20 ",
    ...             "severity_0": "block"}, 0)
    {'type': 'range', 'column': 'x', 'max': '20', 'severity': 'block'}
    >>> edited_rule({"type": "enum", "column": "x"}, {"values_1": "a\\r\\n b \\n\\n上海\\\\n北京"}, 1)["values"]
    ['a', ' b ', '上海\\n北京']
    """
    rule = dict(original)
    if sev := str(form.get(f"severity_{i}") or "").strip():
        rule["severity"] = sev
    for bound in ("min", "max"):
        name = f"{bound}_{i}"
        if name in form:
            value = str(form[name]).strip()
            if value:
                rule[bound] = value
            else:
                rule.pop(bound, None)
    if f"values_{i}" in form:
        rule["values"] = [line_value(v) for v in _SPLIT_VALUES.split(str(form[f"values_{i}"])) if v.strip()]
    return rule


def value_line(value: str) -> str:
    """A code-list value as one line of the form's text box (line breaks and backslashes escaped;
    other spaces kept: the value must match the data exactly)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def line_value(line: str) -> str:
    """The inverse of :func:`value_line`.

    >>> all(line_value(value_line(v)) == v for v in ["上海市\\n中国科学院", "a\\\\nb", "\u2002桃博园\u2002", "C:\\\\"])
    True
    """
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), line)


@router.post(E + "/suggestions")
async def accept_suggestions(request: Request, code: str, session: SessionDep, actor: UserDep,
                             lang: LangDep) -> Response:
    """Save the kept (and edited) suggestions as the entry's rule set; dropped ones are left out."""
    form = await request.form()
    try:
        offered = min(int(str(form.get("offered") or "0")), 10_000)
    except ValueError:
        offered = 0
    items: list[dict[str, Any]] = []
    for i in range(offered):
        try:
            original = json.loads(str(form.get(f"rule_{i}") or ""))
        except ValueError:
            continue
        if not isinstance(original, dict):
            continue
        rule = edited_rule(original, form, i)
        zh, en = _sentence(rule)
        items.append(_item(parse_key(original, i), rule, original, zh, en, str(original.get("note") or ""),
                           form.get(f"keep_{i}") == "1"))
    res = find_resource(session, code)
    try:
        for n, it in enumerate(items, start=1):
            if it["keep"]:
                parse_rule(it["rule"], n)  # the error names the row the steward sees
        saved = await run_in_threadpool(
            service.accept_suggestions, session=session, actor=actor, resource=code,
            rules=[it["rule"] for it in items if it["keep"]], comment=str(form.get("comment") or "") or None,
            replace=form.get("replace") == "1", offered=len(items))
    except InvalidInput as exc:
        session.rollback()
        current = service.get_rule_set(session=session, actor=actor, resource=code)
        # the form is shown again as submitted, without profiling the data anew
        sugg = RuleSuggestions(resource_code=res.code, current_revision=current.revision if current else None)
        return _render_suggestions(request, res, sugg, items, error=exc.message(lang), status_code=422)
    kept = sum(1 for it in items if it["keep"])
    flash(request, "success", f"已采纳 {kept} 条建议规则，舍弃 {len(items) - kept} 条（规则集第 {saved.revision} 版）",
          f"Accepted {kept} suggested rules, dropped {len(items) - kept} (rule set revision {saved.revision})")
    return redirect(f"/quality/resources/{code}")


def parse_key(rule: dict[str, Any], i: int) -> str:
    try:
        return parse_rule(rule).key
    except InvalidInput:
        return str(i)


def _sentence(rule: dict[str, Any]) -> tuple[str, str]:
    try:
        return parse_rule(rule).describe()
    except InvalidInput:
        return f"“{rule.get('column', '')}”", repr(rule.get("column", ""))


@router.post(E + "/check")
def run_check(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    run = service.check(session=session, settings=settings, actor=actor, resource=code)
    return redirect(f"/quality/runs/{run.id}")


@router.get("/quality/runs/{run_id}")
def run_page(request: Request, run_id: int, session: SessionDep, actor: UserDep, lang: LangDep) -> Response:
    data = report.report_data(session=session, actor=actor, run_id=run_id)
    charts = {k: json.dumps(v, ensure_ascii=False) for k, v in report.chart_options(data, lang).items()}
    row = session.get(QualityRun, run_id)
    ran = service.where_ran(session, row, data["resource"]["code"]) if row is not None else None
    return render(request, "quality/report.html", {"data": data, "run": data["run"], "res": data["resource"],
                                                   "ran": ran, "charts": charts, "dims": DIMENSION_LABELS,
                                                   "status_zh": report.STATUS_ZH, "severity": SEVERITY_LABELS})


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
def entry_page(request: Request, code: str, session: SessionDep, actor: UserDep, lang: LangDep) -> Response:
    return render(request, "quality/entry.html", _entry_ctx(session, actor, code, lang))
