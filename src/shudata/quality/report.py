"""Quality reports: the data of one run, its ECharts options, a standalone HTML file (ECharts
inlined, opens offline) and an XLSX workbook."""

from __future__ import annotations

import html
import io
import json
from importlib import resources
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import DISPLAY_ZONE, local_text
from shudata.core.i18n import tr
from shudata.core.textsafe import safe_cell
from shudata.core.types import Actor
from shudata.quality.rule_base import DIMENSION_LABELS
from shudata.quality.service import get_run, scores_trend

STATUS_ZH = {"pass": "通过", "fail": "未通过（拦截）", "warn": "警告", "report": "仅报告", "skipped": "跳过"}


def report_data(*, session: Session, actor: Actor, run_id: int) -> dict[str, Any]:
    """Everything a report shows: entry, run, results, column null rates and the score trend."""
    run = get_run(session=session, actor=actor, run_id=run_id)
    res = session.get(CatalogResource, run.resource_id)
    if res is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("res is unexpectedly None")
    return {"resource": {"id": res.id, "code": res.code, "name": res.name}, "run": run.model_dump(mode="json"),
            "trend": scores_trend(session, res.id)}


def chart_options(data: dict[str, Any], lang: str = "zh-CN") -> dict[str, Any]:
    """ECharts options: scores over versions, failures by rule, null rates by column (titles in ``lang``)."""
    run, trend = data["run"], data["trend"]
    dims = [d for d in (*DIMENSION_LABELS, "overall") if any(d in t["scores"] for t in trend)]
    scores = {
        "title": {"text": tr(lang, "各版本质量得分", "Scores by version")}, "tooltip": {"trigger": "axis"},
        "legend": {"data": [DIMENSION_LABELS.get(d, ("总分", "overall"))[0] for d in dims]},
        "xAxis": {"type": "category", "data": [f"v{t['version']}" for t in trend]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [{"name": DIMENSION_LABELS.get(d, ("总分", "overall"))[0], "type": "line",
                    "data": [t["scores"].get(d) for t in trend]} for d in dims]}
    failing = [r for r in run["results"] if r["failed"]]
    failures = {
        "title": {"text": tr(lang, "各规则不通过行数", "Failing rows by rule")}, "tooltip": {},
        "grid": {"left": 200}, "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [r["key"] for r in failing]},
        "series": [{"type": "bar", "data": [r["failed"] for r in failing]}]}
    if not failing:  # an empty plot says why
        failures["graphic"] = {"type": "text", "left": "center", "top": "middle", "style": {
            "text": tr(lang, "没有不通过的行", "No failing rows") if run["results"] else
            tr(lang, "没有执行任何规则", "No rules were run"), "fill": "#667085", "fontSize": 14}}
    cols = run.get("columns") or []
    nulls = {
        "title": {"text": tr(lang, "各列空值率", "Null rate by column")}, "tooltip": {},
        "xAxis": {"type": "category", "data": [c["column"] for c in cols], "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value", "max": 1},
        "series": [{"type": "bar", "data": [c["null_rate"] for c in cols]}]}
    return {"scores": scores, "failures": failures, "nulls": nulls}


def _echarts_js() -> str:
    path = resources.files("shudata.web.ui").joinpath("static", "vendor", "echarts", "echarts.min.js")
    return path.read_text(encoding="utf-8")


def _results_table(run: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr class='{e(r['status'])}'><td>{e(r['key'])}</td><td>{e(r['sentence_zh'])}<br><small>"
        f"{e(r['sentence_en'])}</small></td><td>{e(DIMENSION_LABELS[r['dimension']][0])}</td>"
        f"<td>{e(r['severity'])}</td><td>{r['failed']}/{r['total']}</td><td>{r['percent']:.2f}%</td>"
        f"<td>{e(STATUS_ZH[r['status']])}</td><td>{e('、'.join(r['samples']))}</td></tr>"
        for r in run["results"])
    return ("<table><thead><tr><th>规则</th><th>说明</th><th>维度</th><th>级别</th><th>不通过</th><th>比例</th>"
            f"<th>结果</th><th>不通过值示例</th></tr></thead><tbody>{rows}</tbody></table>")


def standalone_html(data: dict[str, Any], tz: str = DISPLAY_ZONE) -> str:
    """A single HTML file with the report and its charts (ECharts inlined; the time in ``tz``)."""
    e = html.escape
    run, res = data["run"], data["resource"]
    scores = "".join(f"<div class='score'><b>{v:.1f}</b><span>{e(DIMENSION_LABELS.get(k, ('总分', ''))[0])}</span>"
                     f"</div>" for k, v in run["scores"].items())
    options = json.dumps(chart_options(data), ensure_ascii=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>数据质量报告 — {e(res['name'])} v{run['version']}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px 6px;font-size:13px;vertical-align:top}}tr.fail{{background:#fdecea}}
tr.warn{{background:#fff8e1}}.score{{display:inline-block;margin:0 1em 1em 0;text-align:center}}
.score b{{display:block;font-size:28px}}.chart{{height:320px;margin:1em 0}}</style>
<script>{_echarts_js()}</script></head><body>
<h1>数据质量报告 / Data quality report</h1>
<p>{e(res['name'])}（{e(res['code'])}）· 数据版本 {run['version']} · {run['rows']} 行 ·
检查编号 {run['id']} · {e(local_text(run['created_at'], tz=tz))} · {e(run['created_by'])}</p>
<section>{scores}</section>
<div id="scores" class="chart"></div><div id="failures" class="chart"></div><div id="nulls" class="chart"></div>
{_results_table(run)}
<p><small>维度依据 GB/T 36344-2018《信息技术 数据质量评价指标》。</small></p>
<script>const o={options};for(const k of Object.keys(o)){{echarts.init(document.getElementById(k)).setOption(o[k]);}}
</script></body></html>"""


def report_xlsx(data: dict[str, Any], tz: str = DISPLAY_ZONE) -> bytes:
    """Workbook: summary scores, rule results, column null rates, trend (the time in ``tz``)."""
    run, res = data["run"], data["resource"]
    wb = Workbook()
    ws = wb.active
    ws.title = "概要"
    ws.append(["资源", res["name"], res["code"]])
    ws.append(["数据版本", run["version"], f"{run['rows']} 行"])
    ws.append(["检查时间", local_text(run["created_at"], tz=tz), run["created_by"]])
    for k, v in run["scores"].items():
        ws.append([DIMENSION_LABELS.get(k, ("总分", ""))[0], v])
    rules = wb.create_sheet("规则结果")
    rules.append(["规则", "说明", "Rule", "维度", "级别", "检查行数", "不通过", "比例%", "结果", "示例", "复现 SQL"])
    for r in run["results"]:
        rules.append([r["key"], r["sentence_zh"], r["sentence_en"], DIMENSION_LABELS[r["dimension"]][0],
                      r["severity"], r["total"], r["failed"], r["percent"], STATUS_ZH[r["status"]],
                      safe_cell("、".join(r["samples"])), safe_cell(r.get("sql") or "")])
    cols = wb.create_sheet("列空值率")
    cols.append(["列", "空值数", "空值率"])
    for c in run.get("columns") or []:
        cols.append([c["column"], c["nulls"], c["null_rate"]])
    trend = wb.create_sheet("趋势")
    dims = (*DIMENSION_LABELS, "overall")
    trend.append(["版本", "检查编号", *[DIMENSION_LABELS.get(d, ("总分", ""))[0] for d in dims]])
    for t in data["trend"]:
        trend.append([t["version"], t["run"], *[t["scores"].get(d) for d in dims]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
