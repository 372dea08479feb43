"""``shudata audit verify``: check the hash chain of the audit trail."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.cli.market_records_cmd import print_ledger_report
from shudata.market.ledger import service as market_ledger
from shudata.security import audit_trail as service
from shudata.sharing.nodes import log as node_log

audit_app = typer.Typer(help="审计日志 / audit trail", no_args_is_help=True)


@audit_app.command("verify")
@handle_errors
def verify() -> None:
    """校验审计日志、节点消息日志与数据交易存证账本（含交易所 SM2 签名）；发现篡改时退出码为 1 /
    verify the audit chain, the federation message log and the market ledger; exit 1 on tampering."""
    rt = runtime()
    with rt.transaction() as s:
        report = service.verify(session=s, actor=cli_actor())
        message_log_problems = node_log.verify(s)
        market = market_ledger.verify_ledger(session=s, settings=rt.settings, actor=cli_actor())
    if report.ok:
        console.print(f"[green]审计链完整[/]：已校验 {report.checked} 条记录 / chain intact")
    else:
        console.print(f"[bold red]审计链被破坏[/]：{len(report.problems)} 处问题 / chain broken")
        for p in report.problems:
            console.print(f"  序号 {p.seq}  ({p.kind})  {escape(p.message)}")
    if message_log_problems:
        console.print(f"[bold red]节点消息日志被破坏[/]：{len(message_log_problems)} 处问题 / message log broken")
        for problem in message_log_problems:
            console.print(f"  {escape(problem)}")
    else:
        console.print("[green]节点消息日志完整[/] / federation message log intact")
    print_ledger_report(market)
    if not report.ok or message_log_problems or not market.ok:
        sys.exit(1)
