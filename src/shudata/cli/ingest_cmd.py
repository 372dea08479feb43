"""``shudata ingest FILE --resource CODE``: store a file as the entry's next data version."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shudata.catalog.access import find_resource
from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file, preview_file, sha256_file
from shudata.lake.ingest import formats
from shudata.lake.ingest.source import IngestOptions


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


@handle_errors
def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help=formats.help_text("zh")),
    resource: str = typer.Option(..., "--resource", "-r", help="目录资源代码、别名或名称"),
    header_row: int | None = typer.Option(None, "--header-row", min=1, help="表头所在行（从 1 开始）；默认自动识别"),
    sheet: str | None = typer.Option(None, "--sheet", help="工作表名称（XLS/XLSX）；默认第一个非空工作表"),
    skip_footer: int | None = typer.Option(None, "--skip-footer", min=0, help="跳过末尾注释行数；默认自动识别"),
    encoding: str | None = typer.Option(None, "--encoding", help="文本编码 UTF-8/GBK/GB18030；默认自动识别"),
    comment: str | None = typer.Option(None, "--comment", help="版本说明"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只预览识别结果与信息项比对，不保存"),
) -> None:
    """上传文件为目录条目的新数据版本（列须与信息项一致）/ Ingest a file as a new data version."""
    options = IngestOptions(header_row=header_row, sheet=sheet, skip_footer=skip_footer, encoding=encoding,
                            comment=comment)
    rt = runtime()
    try:
        if dry_run:
            _preview(rt, file, options, resource)
            return
        digest = sha256_file(file)
        columns = (TextColumn("[bold]写入数据湖[/]"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar, rt.transaction() as session:
            task = bar.add_task("ingest", total=file.stat().st_size)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            v = ingest_file(session=session, settings=rt.settings, actor=cli_actor(), resource_code=resource,
                            path=file, options=options, source_name=file.name, sha256=digest, progress=progress)
        console.print(f"[green]已保存[/] 资源 {resource} 的第 {v.version} 版：{v.rows:,} 行，"
                      f"{len(v.columns)} 列，编码 {v.encoding or '-'}，表头第 {v.header_row or '-'} 行"
                      + (f"，跳过分节行 {v.skipped_rows} 行" if v.skipped_rows else ""))
        held = [f"{c['name']} {c['missing_values']}" for c in v.columns if c.get("missing_values")]
        if held:
            console.print("读作缺失值的占位符（N/A、无、- 等）：" + "，".join(held))
    finally:
        rt.close()


def _preview(rt: object, file: Path, options: IngestOptions, resource: str) -> None:
    if not isinstance(rt, Runtime):  # an invariant, not input: a bug if it breaks
        raise TypeError(f"rt is {type(rt).__name__}, not Runtime")
    with rt.transaction() as session:
        items = find_resource(session, resource).information_items or None
    p = preview_file(file, options, source_name=file.name, items=items)
    console.print(f"格式 {p['format']}，编码 {p['encoding'] or '-'}，工作表 {p['sheet'] or '-'}，"
                  f"表头第 {p['header_row'] or '-'} 行，末尾注释 {p['footer_rows']} 行")
    table = Table("信息项", "类型", "长度", title="推断的信息项 / proposed items")
    for item in p["proposed_items"]:
        table.add_row(item["name"], item["data_type"], str(item["length"] or ""))
    console.print(table)
    check = p["check"]
    if check is not None:
        console.print("[green]列与信息项一致[/]" if check["ok"] else f"[red]{check['message']}[/]")
