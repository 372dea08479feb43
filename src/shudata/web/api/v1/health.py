"""Health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from shudata import __version__
from shudata.web.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="健康检查 / health")
def health(request: Request, rt: RuntimeDep) -> dict[str, Any]:
    """服务与元数据库是否可用：返回状态、版本、数据库类型与应答的工作进程序号（`serve --workers N` 时为
    0…N-1），不需要登录（供负载均衡和监控探测）。"""
    with rt.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": rt.engine.dialect.name,
            "node": rt.settings.node_code, "worker": getattr(request.app.state, "worker_index", 0)}
