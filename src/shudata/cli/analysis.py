"""``shudata analysis …``: the indicator system and early warning from the console (issue 18).

The same services as ``/api/v1/analysis``; ``--json`` prints the result as JSON; ``--user`` acts as
that account (default: the system, as every CLI command).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from shudata.analysis import service
from shudata.analysis.schemas import IndicatorWrite
from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.core.types import Actor
from shudata.security.service import actor_for, get_user_by_name

analysis_app = typer.Typer(help="指标体系与预警 / indicators and early warning", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(analysis_app, name="analysis")


def _actor(s: Any, user: str | None) -> Actor:
    return actor_for(get_user_by_name(s, user)) if user else cli_actor()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _walk(items: list[Any]) -> Any:
    for i in items:
        yield i
        yield from _walk(i.children)


@analysis_app.command("list")
@handle_errors
def list_cmd(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
             user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份查看")) -> None:
    """列出指标（按层级）/ list the indicators by hierarchy."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            items = list(_walk(service.list_indicators(s, _actor(s, user))))
    finally:
        rt.close()
    if as_json:
        _print_json([i.model_dump(mode="json", exclude={"children"}) for i in items])
        return
    table = Table(title=f"指标体系 / indicators（{len(items)}）")
    for col in ("代码", "名称", "单位", "频度", "类型", "值", "错误"):
        table.add_column(col)
    for i in items:
        table.add_row("  " * (i.level - 1) + i.code, i.name, i.unit or "", i.frequency, i.kind, str(i.values),
                      (i.compute_error or "")[:40])
    console.print(table)


@analysis_app.command("define")
@handle_errors
def define(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="指标定义 JSON（一个对象或列表）"),
           user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份定义")) -> None:
    """从 JSON 文件新建指标 / define indicators from a JSON file."""
    raw = json.loads(file.read_text(encoding="utf-8"))
    docs = raw if isinstance(raw, list) else [raw]
    rt = runtime()
    try:
        with rt.transaction() as s:
            actor = _actor(s, user)
            for d in docs:
                made = service.create_indicator(s, actor, IndicatorWrite.model_validate(d))
                console.print(f"已新建 / defined {made.code} {made.name}")
    finally:
        rt.close()


@analysis_app.command("recompute")
@handle_errors
def recompute(code: str | None = typer.Argument(None, help="指标代码（默认全部）"),
              as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
              user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份运行")) -> None:
    """重新计算指标（及其下游指标）并执行预警规则 / recompute indicators, then run the alert rules."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            run = service.run_recompute(s, rt.settings, _actor(s, user), code)
    finally:
        rt.close()
    if as_json:
        _print_json(run.model_dump(mode="json"))
        return
    console.print(f"重新计算 {len(run.indicators)} 个指标，{run.values} 个值，新预警 {run.alerts} 条，"
                  f"用时 {run.seconds} 秒")
    for e in run.errors:
        console.print(f"[red]{e['indicator']}[/]: {e['error']}")


@analysis_app.command("alerts")
@handle_errors
def alerts(open_only: bool = typer.Option(False, "--open", help="只看未确认的"),
           limit: int = typer.Option(50, "--limit", min=1, max=500),
           as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
           user: str | None = typer.Option(None, "--user", "-u", help="以该用户身份查看")) -> None:
    """预警记录 / the alert log."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            page = service.list_alerts(s, _actor(s, user), open_only=open_only, limit=limit)
    finally:
        rt.close()
    if as_json:
        _print_json(page.model_dump(mode="json"))
        return
    table = Table(title=f"预警 / alerts（{page.total}）")
    for col in ("#", "级别", "指标", "内容", "确认"):
        table.add_column(col)
    for a in page.items:
        table.add_row(str(a.id), a.severity, a.indicator, a.message, a.acknowledged_by or "")
    console.print(table)


@analysis_app.command("ack")
@handle_errors
def ack(alert_id: int = typer.Argument(..., help="预警编号"),
        comment: str | None = typer.Option(None, "--comment", "-m", help="确认说明"),
        user: str = typer.Option(..., "--user", "-u", help="确认人（所属部门的用户）")) -> None:
    """确认预警 / acknowledge an alert."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            a = service.ack_alert(s, _actor(s, user), alert_id, comment)
    finally:
        rt.close()
    console.print(f"预警 #{a.id} 已由 {a.acknowledged_by} 确认 / acknowledged")
