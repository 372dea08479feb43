"""``shudata demo``: load the demo (idempotent) and serve it."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shudata.cli.context import console, handle_errors, runtime
from shudata.cli.core_cmds import serve
from shudata.core.types import ROLE_LABELS
from shudata.demo.accounts import DEPARTMENTS, demo_users
from shudata.demo.loader import LoadReport, load_demo


class RichProgress:
    """Adapts the loader's progress protocol to a Rich progress bar."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task = bar.add_task("载入演示数据 / loading the demo", total=None)

    def start(self, total: int) -> None:
        self.bar.update(self.task, total=total)

    def step(self, label: str) -> None:
        self.bar.update(self.task, advance=1, description=label)


def accounts_table() -> Table:
    table = Table("用户名 username", "密码 password", "角色 role", "部门 department",
                  title="演示账号 / demo accounts")
    names = {d.key: d.name for d in DEPARTMENTS}
    for u in demo_users():
        table.add_row(u.username, u.password, ROLE_LABELS[u.role][0], names.get(u.department_key or "", ""))
    return table


def print_report(report: LoadReport) -> None:
    console.print(f"[green]演示数据已就绪[/]：新建 {len(report.created)} 项，已存在 {len(report.existing)} 项"
                  f" / demo ready: {len(report.created)} created, {len(report.existing)} already there")
    for what, exc in report.failed:
        console.print(f"[bold red]未能载入[/] {escape(what)}：{escape(exc.zh)}\n[dim]{escape(exc.en)}[/]")


@handle_errors
def demo(load_only: bool = typer.Option(False, "--load-only", help="只载入演示数据，不启动服务 / load, do not serve"),
         host: str = typer.Option("127.0.0.1", help="监听地址 / listen address"),
         port: int = typer.Option(8000, help="端口 / port")) -> None:
    """载入演示数据（可重复运行）并启动服务 / Load the demo (idempotent) and serve it."""
    rt = runtime()
    console.print(f"数据目录 / data folder: {rt.settings.data_dir.resolve()}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        report = load_demo(rt, progress=RichProgress(bar))
    rt.close()
    print_report(report)
    console.print(accounts_table())
    if load_only:
        console.print("启动服务 / to serve: [bold]shudata serve --host 127.0.0.1 --port 8000[/]")
        if report.failed:
            raise typer.Exit(1)
        return
    console.print(f"用以上账号登录 / log in with an account above: [bold]http://{host}:{port}/[/]")
    serve(host=host, port=port, workers=None)  # called directly: every Option needs its value (SHUDATA_WORKERS decides)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
