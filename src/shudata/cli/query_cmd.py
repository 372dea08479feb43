"""``shudata query SQL``: run one read-only SQL statement in the sandbox."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import typer
from rich.table import Table

from shudata.cli.context import cli_actor, console, err_console, handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.core.textsafe import safe_cell
from shudata.core.types import Actor
from shudata.query.service import export_query, run_query
from shudata.security.service import actor_for, get_user_by_name

SQL_HELP = '一条只读 SQL；资源用代码（双引号）、别名或名称，如 \'SELECT * FROM "101001/000123"\''


def register(app: typer.Typer) -> None:
    app.command("query")(query)


def _versions(pins: list[str]) -> dict[str, int]:
    """``CODE=N`` options as a mapping.

    >>> _versions(["101001/000123=2"])
    {'101001/000123': 2}
    """
    out: dict[str, int] = {}
    for pin in pins:
        key, sep, number = pin.rpartition("=")
        if not sep or not key or not number.isdigit():
            raise InvalidInput(f"版本写法应为 资源=版本号：{pin}", f"Use RESOURCE=VERSION: {pin}",
                               code="bad_version_pin")
        out[key] = int(number)
    return out


@handle_errors
def query(sql: str = typer.Argument(..., help=SQL_HELP),
          fmt: str = typer.Option("table", "--format", "-f", help="输出格式 table|json|csv"),
          limit: int = typer.Option(100, "--limit", "-n", min=1,
                                    help="最多显示的行数（每页不超过 page_size_max，超过时按上限显示并提示）"),
          offset: int = typer.Option(0, "--offset", min=0, help="跳过的行数"),
          user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份运行（按其权限检查）"),
          version: list[str] = typer.Option([], "--version", help="历史版本：资源=版本号，可重复"),
          output: Path | None = typer.Option(None, "--output", "-o",
                                             help="把整个结果（不超过 query_max_rows 行）导出为文件：.csv、.xlsx 或 "
                                                  ".parquet；结果被截断时提示并以退出码 10 结束"),
          ) -> None:
    """在 SQL 沙箱中运行只读查询 / run a read-only query in the SQL sandbox."""
    if fmt not in ("table", "json", "csv"):
        raise InvalidInput(f"未知输出格式 {fmt}：可用 table、json、csv",
                           f"Unknown format {fmt}: use table, json or csv", code="unsupported_format")
    if output is not None:
        _export(sql, output, user, version)
        return
    rt = runtime()
    page_max = rt.settings.page_size_max
    try:
        with rt.transaction() as s:
            actor: Actor = actor_for(get_user_by_name(s, user)) if user else cli_actor()
            result = run_query(session=s, settings=rt.settings, actor=actor, sql=sql, offset=offset,
                               limit=min(limit, page_max), versions=_versions(version))
    finally:
        rt.close()
    names = [c.name for c in result.columns]
    if fmt == "json":
        sys.stdout.write(json.dumps(result.model_dump(), ensure_ascii=False, default=str) + "\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[safe_cell(v) for v in row] for row in result.rows])
    else:
        if result.tables:
            console.print("[bold]" + "，".join(f"{t.code} {t.name} v{t.version}" for t in result.tables) + "[/]",
                          soft_wrap=True)
        table = Table(*names)
        for row in result.rows:
            table.add_row(*["" if v is None else str(v) for v in row])
        console.print(table)
    # what was left out is said on stderr in every format, so a redirected stdout stays data
    notes = []
    if limit > page_max and result.has_more:
        notes.append(f"每页最多 {page_max} 行（设置 SHUDATA_PAGE_SIZE_MAX），--limit {limit} 已按 {page_max} 行显示")
    if result.has_more:
        notes.append(f"还有更多行（--offset {result.next_offset} 继续，或 --output 文件 导出全部）")
    if result.truncated:
        notes.append(f"结果超过上限 {result.max_rows} 行（设置 SHUDATA_QUERY_MAX_ROWS），已截断")
    if result.byte_capped:
        notes.append(f"本页超过字节上限 {result.max_bytes}，已截短")
    total = f"共 {result.total} 行，" if result.total is not None else ""
    line = f"{total}显示 {len(result.rows)} 行，用时 {result.elapsed_ms} ms" + "".join(f"；{n}" for n in notes)
    if fmt == "table":
        err_console.print(f"[dim]{line}[/]")
    elif notes:
        err_console.print(f"[yellow]{line}[/]")


EXIT_TRUNCATED = 10  # the file was written but holds only the first query_max_rows rows
EXPORT_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}


def _export(sql: str, output: Path, user: str | None, version: list[str]) -> None:
    """The whole result as a file; a result cut at ``query_max_rows`` says so (stderr, exit 10)."""
    fmt = EXPORT_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"无法从文件名 {output.name} 判断导出格式：请用 .csv、.xlsx 或 .parquet",
                           f"Cannot tell the export format from {output.name}: use .csv, .xlsx or .parquet",
                           code="unsupported_format")
    rt = runtime()
    try:
        with rt.transaction() as s:
            actor: Actor = actor_for(get_user_by_name(s, user)) if user else cli_actor()
            result = export_query(session=s, settings=rt.settings, actor=actor, sql=sql, fmt=fmt,
                                  versions=_versions(version))
        with result.file as src, output.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    finally:
        rt.close()
    if result.truncated:
        err_console.print(f"[yellow]已导出 {result.rows} 行到 {output}；结果超过上限 {rt.settings.query_max_rows} 行"
                          "（设置 SHUDATA_QUERY_MAX_ROWS），文件不完整，已截断 / the result passed the row cap and the "
                          "file is truncated[/]")
        raise typer.Exit(EXIT_TRUNCATED)
    err_console.print(f"[dim]已导出全部 {result.rows} 行到 {output}[/]")
