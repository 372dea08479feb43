"""``shudata check | clean | profile`` and ``shudata quality …``: data quality from the console.

Every command calls the same services as the API; ``--json`` prints the result as JSON.
``check`` exits with 1 when a blocking rule fails, so it can gate a pipeline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from shudata.cli.context import cli_actor, console, err_console, handle_errors, runtime
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.types import Actor
from shudata.lake.ingest import formats
from shudata.quality import cleaning_service, quarantine_service, report, service
from shudata.quality.profile import profile_file
from shudata.quality.reference import region_sources
from shudata.quality.schemas import RunRead
from shudata.quality.spec_files import load_spec
from shudata.security.service import actor_for, get_user_by_name

quality_app = typer.Typer(help="数据质量：规则、报告、隔离区 / data quality: rules, reports, quarantine",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("clean")(clean)
    app.command("profile")(profile)
    app.add_typer(quality_app, name="quality")


def _actor(s: Any, user: str | None) -> Actor:
    return actor_for(get_user_by_name(s, user)) if user else cli_actor()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _spinner(text: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(text), console=err_console, transient=True)


def _show_run(run: RunRead) -> None:
    table = Table(title=f"质量检查 / quality check — 版本 {run.version}，{run.rows} 行")
    for col in ("规则 rule", "维度", "级别", "不通过", "比例%", "结果", "示例"):
        table.add_column(col)
    for r in run.results:
        colour = {"pass": "green", "fail": "red", "warn": "yellow"}.get(r.status, "dim")
        table.add_row(r.sentence_zh, r.dimension, r.severity, str(r.failed), f"{r.percent:.2f}",
                      f"[{colour}]{r.status}[/]", "、".join(r.samples[:3]))
    console.print(table)
    console.print("得分 / scores: " + "  ".join(f"{k} {v:.1f}" for k, v in run.scores.items()))


@handle_errors
def check(resource: str = typer.Argument(..., help="资源代码、别名或名称"),
          version: int | None = typer.Option(None, "--version", "-v", help="数据版本（默认最新）"),
          as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
          user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份运行")) -> None:
    """按目录条目的质量规则检查数据版本 / check a data version against the entry's rules."""
    rt = runtime()
    try:
        with _spinner("检查中 / checking…") as progress, rt.transaction() as s:
            progress.add_task("check")
            run = service.check(session=s, settings=rt.settings, actor=_actor(s, user), resource=resource,
                                version=version)
    finally:
        rt.close()
    if as_json:
        _print_json(run.model_dump(mode="json"))
    else:
        _show_run(run)
    if any(r.status == "fail" for r in run.results):
        sys.exit(1)


@handle_errors
def clean(resource: str = typer.Argument(..., help="资源代码、别名或名称"),
          pipeline: Path = typer.Option(..., "--pipeline", "-p", exists=True, dir_okay=False,
                                        help="清洗流程文件（YAML 或 JSON）"),
          version: int | None = typer.Option(None, "--version", "-v", help="源数据版本（默认最新）"),
          dry_run: bool = typer.Option(False, "--dry-run", help="只预览各步骤改动的数量，不写入"),
          as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
          user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份运行")) -> None:
    """运行清洗流程，结果成为新的数据版本（原版本保留）/ clean into a new version."""
    spec = load_spec(pipeline)
    rt = runtime()
    try:
        with _spinner("清洗中 / cleaning…") as progress, rt.transaction() as s:
            progress.add_task("clean")
            actor = _actor(s, user)
            if dry_run:
                out: dict[str, Any] = cleaning_service.preview_clean(session=s, settings=rt.settings, actor=actor,
                                                                     resource=resource, pipeline=spec, version=version)
            else:
                out = cleaning_service.clean(session=s, settings=rt.settings, actor=actor, resource=resource,
                                             pipeline=spec, version=version).model_dump(mode="json")
    finally:
        rt.close()
    if as_json:
        _print_json(out)
        return
    target = out.get("target_version", "（预览 / preview）")
    table = Table(title=f"清洗流程 / pipeline — 版本 {out.get('source_version')} → {target}")
    for col in ("#", "步骤 step", "说明", "改动 changed"):
        table.add_column(col)
    for st in out["steps"]:
        table.add_row(str(st["index"]), st["step"], st["describe"], str(st["changed"]))
    console.print(table)


@handle_errors
def profile(file: Path = typer.Argument(..., exists=True, dir_okay=False, help=formats.help_text("zh")),
            as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（每列一个对象）"),
            missing: str | None = typer.Option(None, "--missing",
                                               help="视为缺失的占位符，逗号分隔；默认为设置 ingest_missing_values")
            ) -> None:
    """剖析文件：类型、缺失、去重计数、值类型及其校验失败数、建议规则 / profile a file."""
    settings = Settings()
    placeholders = (tuple(settings.ingest_missing_values) if missing is None
                    else tuple(p for p in missing.split(",") if p != ""))
    from shudata.query.service import local_engine  # noqa: PLC0415 - the CLI loads the query engine only for this command (start-up time)

    with _spinner("剖析中 / profiling…") as progress:
        progress.add_task("profile")
        result = profile_file(local_engine(settings), file, placeholders=placeholders,
                              lookups=region_sources(settings.data_dir / "quality" / "ref"))
    if as_json:
        _print_json([c.model_dump(include={"column", "type", "nulls", "distinct", "kind", "invalid"})
                     for c in result.columns])
        return
    table = Table(title=f"{file.name}：{result.rows} 行")
    for col in ("列 column", "类型", "缺失", "去重", "值类型 kind", "无效", "建议规则"):
        table.add_column(col)
    for c in result.columns:
        rules = "；".join(r["type"] for r in c.suggested_rules)
        table.add_row(c.column, c.type, str(c.nulls), str(c.distinct), c.kind or "",
                      "" if c.invalid is None else str(c.invalid), rules)
    console.print(table)


@quality_app.command("rules")
@handle_errors
def save_rules(resource: str = typer.Argument(..., help="资源代码、别名或名称"),
               file: Path = typer.Argument(..., exists=True, dir_okay=False, help="规则文件（YAML 或 JSON）"),
               comment: str | None = typer.Option(None, "--comment", "-m", help="变更说明"),
               user: str | None = typer.Option(None, "--user", "-u")) -> None:
    """保存目录条目的质量规则（保存时校验）/ save an entry's rule set (validated when saved)."""
    spec = load_spec(file)
    rt = runtime()
    try:
        with rt.transaction() as s:
            saved = service.save_rule_set(session=s, actor=_actor(s, user), resource=resource, spec=spec,
                                          comment=comment)
    finally:
        rt.close()
    console.print(f"[green]已保存[/] 规则集第 {saved.revision} 版，共 {len(saved.spec['rules'])} 条规则 / saved")


@quality_app.command("pipeline")
@handle_errors
def save_pipeline(resource: str = typer.Argument(...), file: Path = typer.Argument(..., exists=True, dir_okay=False),
                  user: str | None = typer.Option(None, "--user", "-u")) -> None:
    """保存命名清洗流程（保存时检查列与循环引用）/ save a named cleaning pipeline."""
    spec = load_spec(file)
    rt = runtime()
    try:
        with rt.transaction() as s:
            saved = cleaning_service.save_pipeline(session=s, actor=_actor(s, user), resource=resource, spec=spec)
    finally:
        rt.close()
    console.print(f"[green]已保存[/] 清洗流程“{saved['name']}”第 {saved['revision']} 版 / saved")


@quality_app.command("report")
@handle_errors
def export_report(run_id: int = typer.Argument(..., help="检查记录编号（check --json 输出中的 id）"),
                  html: Path | None = typer.Option(None, "--html", help="导出独立 HTML 报告"),
                  xlsx: Path | None = typer.Option(None, "--xlsx", help="导出 XLSX 报告")) -> None:
    """导出质量报告（独立 HTML 与 XLSX）/ export a quality report."""
    if html is None and xlsx is None:
        raise InvalidInput("请给出 --html 或 --xlsx", "Give --html or --xlsx", code="output_required")
    rt = runtime()
    try:
        with rt.transaction() as s:
            data = report.report_data(session=s, actor=cli_actor(), run_id=run_id)
    finally:
        rt.close()
    if html is not None:
        html.write_text(report.standalone_html(data, tz=rt.settings.timezone), encoding="utf-8")
        console.print(f"HTML → {html}")
    if xlsx is not None:
        xlsx.write_bytes(report.report_xlsx(data, tz=rt.settings.timezone))
        console.print(f"XLSX → {xlsx}")


@quality_app.command("quarantine")
@handle_errors
def export_quarantine(resource: str = typer.Argument(...),
                      xlsx: Path = typer.Option(..., "--xlsx", help="导出为 XLSX（原因在单独一列）"),
                      version: int | None = typer.Option(None, "--version", "-v")) -> None:
    """导出隔离区数据 / export quarantined rows."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            data = quarantine_service.export_xlsx(session=s, actor=cli_actor(), resource=resource, version=version)
    finally:
        rt.close()
    xlsx.write_bytes(data)
    console.print(f"XLSX → {xlsx}")
