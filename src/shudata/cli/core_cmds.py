"""``shudata init`` and ``shudata serve``."""

from __future__ import annotations

import os
import socket
import sys
import time

import typer

from shudata.cli.context import console, handle_errors, runtime, store_unavailable
from shudata.core.config import Settings
from shudata.db.runtime import Runtime
from shudata.db.session import StoreUnavailable
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
          port: int = typer.Option(8000, help="端口"),
          workers: int | None = typer.Option(None, "--workers", min=1, max=64,
                                             help="工作进程数（默认 SHUDATA_WORKERS，即 1）")) -> None:
    """启动网页与 API 服务 / Serve the web UI and the API.

    启动时清理上次异常退出留下的暂存目录、无主版本目录和临时上传文件；收到 SIGTERM 后在
    SHUDATA_SHUTDOWN_TIMEOUT_S 秒内退出。/ Removes a crashed run's leftovers at start; exits
    within SHUDATA_SHUTDOWN_TIMEOUT_S seconds of SIGTERM.

    --workers N（或 SHUDATA_WORKERS）：N 个工作进程共用端口，并发上限按每个进程计（共 N ×
    SHUDATA_MAX_CONCURRENCY）。/ N worker processes share the port; the concurrency limit is per worker.
    """
    from shudata.cli import server  # noqa: PLC0415 - the CLI loads a command's modules when it runs (start-up time)

    started = time.time()
    rt = runtime()
    lock = ServerLock(rt.settings)
    with rt.transaction() as session:
        left = clean_at_start(session=session, settings=rt.settings, lock=lock, started=started)
    if left.count:
        console.print(f"已清理上次异常退出的遗留：{len(left.lake_dirs)} 个数据目录、{len(left.uploads)} 个临时上传文件"
                      f" / removed a crash's leftovers: {len(left.lake_dirs)} lake folders, "
                      f"{len(left.uploads)} temporary uploads ({left.upload_bytes / 1e6:.1f} MB)")
    n = workers or rt.settings.workers
    if n > 1:  # the parent binds the port and supervises; every worker builds its own app
        from shudata.sharing.nodes.service import ensure_identity  # noqa: PLC0415 - see above
        ensure_identity(rt.transaction, rt.settings)  # the node key exists before any worker starts
        os.environ["SHUDATA_WORKERS"] = str(n)  # the workers read their settings from the environment
        rt.close()
        console.print(f"[bold green]蜀数已启动[/] http://{host}:{port}/  （API 文档 /docs；{n} 个工作进程）")
        try:
            code = server.run_workers(worker, rt.settings, host, port, n)
        finally:
            lock.release()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # nothing left to tear down here; the interpreter's own teardown took seconds
    from shudata.web.app import create_app  # noqa: PLC0415 - the CLI loads the web app only to serve (start-up time)

    app = create_app(runtime=rt, migrate=False)
    app.state.process_owner = True
    console.print(f"[bold green]蜀数已启动[/] http://{host}:{port}/  （API 文档 /docs）")
    try:
        server.run(app, rt.settings, host, port)
    finally:
        lock.release()
        rt.close()


def worker(sock: socket.socket, parent: int, index: int) -> None:
    """One of ``serve --workers N``'s processes (started with ``spawn``): it dies with the parent,
    builds its own runtime and application (the parent has migrated and cleaned up) and serves
    on the parent's socket."""
    from shudata.cli import server  # noqa: PLC0415 - see serve
    from shudata.lake.ingest.workers import die_with_parent  # noqa: PLC0415 - see serve
    from shudata.web.app import create_app  # noqa: PLC0415 - see serve

    die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    try:
        rt = Runtime.build(Settings())
    except StoreUnavailable as exc:
        raise store_unavailable(exc) from None
    app = create_app(runtime=rt, migrate=False)
    app.state.process_owner = True
    app.state.worker_index = index  # in the health check's answer
    try:
        server.serve_socket(app, rt.settings, sock)
    finally:
        rt.close()
