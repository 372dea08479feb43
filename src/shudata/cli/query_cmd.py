"""``shudata query SQL``: run one read-only SQL statement in the sandbox."""

from __future__ import annotations

import csv
import json
import sys

import typer
from rich.table import Table

from shudata.cli.context import cli_actor, console, err_console, handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.core.textsafe import safe_cell
from shudata.core.types import Actor
from shudata.query.service import run_query
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
            raise InvalidInput(f"版本写法应为 资源=版本号：{pin}", f"Use RESOURCE=VERSION: {pin}")
        out[key] = int(number)
    return out


@handle_errors
def query(sql: str = typer.Argument(..., help=SQL_HELP),
          fmt: str = typer.Option("table", "--format", "-f", help="输出格式 table|json|csv"),
          limit: int = typer.Option(100, "--limit", "-n", min=1, help="最多显示的行数"),
          offset: int = typer.Option(0, "--offset", min=0, help="跳过的行数"),
          user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份运行（按其权限检查）"),
          version: list[str] = typer.Option([], "--version", help="历史版本：资源=版本号，可重复"),
          ) -> None:
    """在 SQL 沙箱中运行只读查询 / run a read-only query in the SQL sandbox."""
    if fmt not in ("table", "json", "csv"):
        raise InvalidInput(f"未知输出格式 {fmt}：可用 table、json、csv",
                           f"Unknown format {fmt}: use table, json or csv")
    rt = runtime()
    try:
        with rt.transaction() as s:
            actor: Actor = actor_for(get_user_by_name(s, user)) if user else cli_actor()
            result = run_query(session=s, settings=rt.settings, actor=actor, sql=sql, offset=offset,
                               limit=min(limit, rt.settings.page_size_max), versions=_versions(version))
    finally:
        rt.close()
    names = [c.name for c in result.columns]
    if fmt == "json":
        sys.stdout.write(json.dumps(result.model_dump(), ensure_ascii=False, default=str) + "\n")
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[safe_cell(v) for v in row] for row in result.rows])
        return
    if result.tables:
        console.print("[bold]" + "，".join(f"{t.code} {t.name} v{t.version}" for t in result.tables) + "[/]",
                      soft_wrap=True)
    table = Table(*names)
    for row in result.rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)
    more = "，还有更多行（--offset 翻页）" if result.has_more else ""
    cut = f"；结果超过上限 {result.max_rows} 行，已截断" if result.truncated else ""
    total = f"共 {result.total} 行，" if result.total is not None else ""
    err_console.print(f"[dim]{total}显示 {len(result.rows)} 行，用时 {result.elapsed_ms} ms{more}{cut}[/]")
