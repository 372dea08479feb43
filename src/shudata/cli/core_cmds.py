"""``shudata init`` and ``shudata serve``."""

from __future__ import annotations

import typer

from shudata.cli.context import console, handle_errors, runtime
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
    """启动网页与 API 服务 / Serve the web UI and the API."""
    import uvicorn

    from shudata.web.app import create_app

    rt = runtime()
    app = create_app(runtime=rt, migrate=False)
    console.print(f"[bold green]蜀数已启动[/] http://{host}:{port}/  （API 文档 /docs）")
    uvicorn.run(app, host=host, port=port, log_level="warning")
