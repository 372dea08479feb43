"""``shudata init`` and ``shudata serve``."""

from __future__ import annotations

import time

import typer

from shudata.cli.context import console, handle_errors, runtime
from shudata.jobs.leftovers import ServerLock, clean_at_start
from shudata.lake.service import cleanup as lake_cleanup


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)


@handle_errors
def init() -> None:
    """初始化数据目录与元数据库（迁移到最新）/ Initialise the data folder and metadata store."""
    rt = runtime()
    with rt.transaction() as session:
        removed = lake_cleanup(session=session, settings=rt.settings, grace_s=600)
    if removed:
        console.print(f"已清理 {len(removed)} 个未完成或无主的数据目录 / removed {len(removed)} leftover folders")
    console.print(f"[green]已初始化[/] 数据目录 {rt.settings.data_dir.resolve()}，数据库 {rt.engine.dialect.name}")
    rt.close()


def serve(host: str = typer.Option("127.0.0.1", help="监听地址"),
          port: int = typer.Option(8000, help="端口")) -> None:
    """启动网页与 API 服务 / Serve the web UI and the API.

    启动时清理上次异常退出留下的暂存目录、无主版本目录和临时上传文件；收到 SIGTERM 后在
    SHUDATA_SHUTDOWN_TIMEOUT_S 秒内退出。/ Removes a crashed run's leftovers at start; exits
    within SHUDATA_SHUTDOWN_TIMEOUT_S seconds of SIGTERM.
    """
    from shudata.cli import server  # noqa: PLC0415 - the CLI loads a command's modules when it runs (start-up time)
    from shudata.web.app import create_app  # noqa: PLC0415 - the CLI loads the web app only to serve (start-up time)

    started = time.time()
    rt = runtime()
    lock = ServerLock(rt.settings)
    with rt.transaction() as session:
        left = clean_at_start(session=session, settings=rt.settings, lock=lock, started=started)
    if left.count:
        console.print(f"已清理上次异常退出的遗留：{len(left.lake_dirs)} 个数据目录、{len(left.uploads)} 个临时上传文件"
                      f" / removed a crash's leftovers: {len(left.lake_dirs)} lake folders, "
                      f"{len(left.uploads)} temporary uploads ({left.upload_bytes / 1e6:.1f} MB)")
    app = create_app(runtime=rt, migrate=False)
    app.state.process_owner = True
    console.print(f"[bold green]蜀数已启动[/] http://{host}:{port}/  （API 文档 /docs）")
    try:
        server.run(app, rt.settings, host, port)
    finally:
        lock.release()
        rt.close()
