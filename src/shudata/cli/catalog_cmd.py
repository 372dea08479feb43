"""``shudata catalog import|export|search|templates|add``: the resource catalog from the console."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from shudata.catalog import base_registries, import_export
from shudata.catalog.search import search
from shudata.cli.context import cli_actor, console, err_console, handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.security.service import find_department

catalog_app = typer.Typer(help="政务信息资源目录 / resource catalog", no_args_is_help=True)


@catalog_app.command("import")
@handle_errors
def import_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="编目表 XLSX 或 CSV"),
               skip_invalid: bool = typer.Option(False, "--skip-invalid", help="跳过有错误的资源，导入其余"),
               dept: str | None = typer.Option(None, "--dept", help="未填提供方时的默认部门（名称、信用代码或 id）"),
               ) -> None:
    """导入编目表；有任何错误行时不导入（除非 --skip-invalid）/ import a filled-in catalog."""
    rt = runtime()
    try:
        with console.status("正在导入…"), rt.transaction() as s:
            report = import_export.import_catalog(session=s, actor=cli_actor(), content=file.read_bytes(),
                                                  filename=file.name, skip_invalid=skip_invalid, department=dept)
    except InvalidInput as exc:
        errors = (exc.details or {}).get("errors", []) if isinstance(exc.details, dict) else []
        if errors:
            table = Table("工作表", "行", "列", "问题", title="导入错误 / row errors")
            for e in errors:
                table.add_row(e["sheet"], str(e["row"]), e["column"] or "", e["message"])
            err_console.print(table)
        raise
    finally:
        rt.close()
    console.print(f"[green]已导入[/] 新增 {len(report.created)} 条，更新 {len(report.updated)} 条，"
                  f"未变 {len(report.unchanged)} 条，跳过 {report.skipped_rows} 条")
    for e in report.errors:
        err_console.print(f"[yellow]已跳过[/] {e.sheet} 第 {e.row} 行 {e.column or ''}：{e.message}")


@catalog_app.command("export")
@handle_errors
def export_cmd(file: Path = typer.Argument(..., dir_okay=False, help="输出文件"),
               fmt: str | None = typer.Option(None, "--format", "-f", help="xlsx 或 csv（默认按扩展名）"),
               dept: str | None = typer.Option(None, "--dept", help="只导出该部门的条目"),
               ) -> None:
    """导出编目表（与导入格式相同）/ export the catalog in the import layout."""
    chosen = (fmt or file.suffix.lstrip(".") or "xlsx").lower()
    if chosen not in ("xlsx", "csv"):
        raise InvalidInput(f"未知格式 {chosen}：可用 xlsx、csv", f"Unknown format {chosen}: use xlsx or csv",
                           code="unsupported_format")
    rt = runtime()
    try:
        with rt.transaction() as s:
            dept_id = find_department(s, dept).id if dept else None
            data = import_export.export_catalog(session=s, actor=cli_actor(), fmt=chosen, department_id=dept_id)
    finally:
        rt.close()
    file.write_bytes(data)
    console.print(f"[green]已导出[/] {file}（{len(data):,} 字节）")


@catalog_app.command("search")
@handle_errors
def search_cmd(q: str = typer.Argument(..., help="检索词，如 企业信用、资源代码或部门名称"),
               limit: int = typer.Option(20, "--limit", "-n", min=1, max=100)) -> None:
    """全文检索目录 / search the catalog."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            res = search(session=s, actor=cli_actor(), q=q, limit=limit)
    finally:
        rt.close()
    table = Table("资源代码", "资源名称", "提供方", "更新周期", "时效", "得分",
                  title=f"“{q}”：{res.total}{'' if res.exact else '+'} 条")
    for h in res.hits:
        r = h.resource
        flag = {"overdue": "[red]超期[/]", "no_data": "[yellow]无数据[/]"}.get(r.freshness, "按期")
        table.add_row(r.code, r.name, r.provider_name, r.update_cycle.value, flag, f"{h.score:.2f}")
    console.print(table)


@catalog_app.command("templates")
@handle_errors
def templates_cmd() -> None:
    """列出基础库模板 / list the base-registry templates."""
    for t in base_registries.list_templates():
        items = "、".join(f"{i.name}({i.data_type.value}{i.length or ''})" for i in t.information_items)
        console.print(f"[bold]{t.key}[/] {t.category_code} {t.name}\n  {items}")


@catalog_app.command("add")
@handle_errors
def add_cmd(template: str = typer.Option(..., "--template", "-t", help="人口/法人/自然资源和地理空间/社会信用"),
            dept: str = typer.Option(..., "--dept", help="提供方部门（名称、信用代码或 id）"),
            name: str | None = typer.Option(None, "--name", help="资源名称（默认：模板名称）")) -> None:
    """由基础库模板登记目录条目 / register an entry from a base-registry template."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            r = base_registries.create_from_template(session=s, actor=cli_actor(), key=template, name=name,
                                                     provider_department_id=find_department(s, dept).id)
    finally:
        rt.close()
    console.print(f"[green]已登记[/] {r.code} {r.name}（{len(r.information_items)} 个信息项）")
