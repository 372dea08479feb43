"""``shudata portal``: harvesting other CKAN-compatible portals (``harvest add|run|jobs``)."""

from __future__ import annotations

import json

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.portal import harvest, service

portal_app = typer.Typer(help="开放数据门户 / open-data portal", no_args_is_help=True)
harvest_app = typer.Typer(help="采集其他 CKAN 兼容门户 / harvest CKAN-compatible portals", no_args_is_help=True)
portal_app.add_typer(harvest_app, name="harvest")


@harvest_app.command("add")
@handle_errors
def add(name: str = typer.Argument(..., help="采集源名称（唯一）"),
        url: str = typer.Argument(..., help="源门户地址，如 https://data.example.gov.cn"),
        department: str = typer.Option(..., "--department", "-d", help="导入条目的提供方部门（id 或名称）"),
        apikey: str | None = typer.Option(None, "--apikey", help="源门户的 API 密钥（读取有条件开放数据时需要）"),
        ) -> None:
    """登记一个采集源 / register a harvest source."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            src = harvest.add_source(session=s, actor=cli_actor(), name=name, url=url, department=department,
                                     apikey=apikey)
            console.print(f"[green]已登记[/] 采集源 {src.name}（{src.url}），导入到部门 #{src.department_id}")
    finally:
        rt.close()


@harvest_app.command("run")
@handle_errors
def run(name: str = typer.Argument(..., help="采集源名称"),
        stale_minutes: int = typer.Option(harvest.STALE_MINUTES, "--stale-minutes", min=1,
                                          help="心跳超过多少分钟的运行中任务视为已中断"),
        ) -> None:
    """运行一次增量采集：gather → fetch → import / harvest a source once (incremental)."""
    rt = runtime()
    try:
        columns = (TextColumn("[bold]采集[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(name, total=None)

            def progress(done: int, total: int, current: str) -> None:
                bar.update(task, completed=done, total=total, description=current or name)

            job = harvest.run_harvest(rt=rt, actor=cli_actor(), source=name, stale_minutes=stale_minutes,
                                      progress=progress)
        st = job.stats or {}
        console.print(f"[green]任务 #{job.id} 完成[/]：发现 {st.get('found', 0)}，新增 {st.get('new', 0)}，"
                      f"变更 {st.get('changed', 0)}，未变 {st.get('unchanged', 0)}，导入 {st.get('imported', 0)}，"
                      f"闸门拒绝 {st.get('refused', 0)}，失败 {st.get('failed', 0)}，撤回 {st.get('deleted', 0)}，"
                      f"数据行 {st.get('rows', 0):,}")
        for entry in (job.log or [])[-10:]:
            if entry.get("level") in ("warning", "error"):
                console.print(f"[yellow]{entry['message']}[/]")
    finally:
        rt.close()


@harvest_app.command("jobs")
@handle_errors
def jobs(name: str | None = typer.Argument(None, help="采集源名称（留空为全部）"),
         limit: int = typer.Option(20, "--limit", min=1, max=500),
         log: bool = typer.Option(False, "--log", help="同时显示最近一个任务的日志")) -> None:
    """列出采集任务及其状态 / list harvest jobs."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            rows = harvest.list_jobs(s, name, limit)
            table = Table("#", "源 source", "状态 status", "阶段 stage", "开始 started", "结束 finished",
                          "导入 imported", "失败 failed", title="采集任务 / harvest jobs")
            for j in rows:
                st = j.stats or {}
                table.add_row(str(j.id), str(j.source_id), j.status, j.stage,
                              j.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                              j.finished_at.strftime("%Y-%m-%d %H:%M:%S") if j.finished_at else "-",
                              str(st.get("imported", 0)), str(st.get("failed", 0)))
            console.print(table)
            if log and rows:
                for entry in rows[0].log or []:
                    console.print(f"{entry.get('at')} [{entry.get('level')}] {entry.get('message')}")
    finally:
        rt.close()


@portal_app.command("publish")
@handle_errors
def publish(resource: str = typer.Argument(..., help="资源代码、别名或 id"),
            version: int | None = typer.Option(None, "--version", "-v", help="数据版本（默认最新）")) -> None:
    """经开放闸门发布到开放门户 / publish through the open-data gate (exit 2 with the findings when refused)."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            pub = service.publish(session=s, settings=rt.settings, actor=cli_actor(), resource=resource,
                                  version=version)
        if pub.status == "refused":
            with rt.transaction() as s:
                raise service.refusal_of(s, pub.id)
        console.print(f"[green]已发布[/] {resource} v{pub.version}：{pub.rows:,} 行，闸门抽查 "
                      f"{pub.gate.get('rows_scanned', 0):,} 行未发现未脱敏的个人信息；策略 {pub.policy}")
        for col, op in sorted(pub.operators.items()):
            console.print(f"  {col}: {op}")
    finally:
        rt.close()


@portal_app.command("withdraw")
@handle_errors
def withdraw(resource: str = typer.Argument(..., help="资源代码、别名或 id"),
             reason: str = typer.Option(..., "--reason", "-r", help="撤回原因"),
             version: int | None = typer.Option(None, "--version", "-v", help="要撤回的版本（默认当前发布的版本）"),
             ) -> None:
    """立即撤回已发布的版本 / withdraw a published version at once."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            pub = service.withdraw(session=s, settings=rt.settings, actor=cli_actor(), resource=resource,
                                   reason=reason, version=version)
        console.print(f"[yellow]已撤回[/] {resource} v{pub.version}")
    finally:
        rt.close()


@portal_app.command("publications")
@handle_errors
def publications(resource: str = typer.Argument(..., help="资源代码、别名或 id"),
                 as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（每条记录一个对象）")) -> None:
    """某条目的开放闸门记录 / gate results of an entry."""
    rt = runtime()
    try:
        with rt.transaction() as s:
            rows = service.list_publications(session=s, actor=cli_actor(), resource=resource)
        if as_json:
            typer.echo(json.dumps([p.model_dump(mode="json") for p in rows], ensure_ascii=False))
            return
        table = Table("#", "版本 version", "状态 status", "行数 rows", "发现 findings", "时间 at",
                      title=f"开放闸门记录 / gate results: {resource}")
        for p in rows:
            found = "、".join(f"{v['column']}({v['entity']})" for v in p.gate.get("violations", [])) or "-"
            table.add_row(str(p.id), str(p.version), p.status, f"{p.rows:,}", found,
                          p.created_at.strftime("%Y-%m-%d %H:%M:%S"))
        console.print(table)
    finally:
        rt.close()
