"""Health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from shudata import __version__
from shudata.web.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="健康检查 / health")
def health(rt: RuntimeDep) -> dict[str, Any]:
    """服务与元数据库是否可用：返回状态、版本与数据库类型，不需要登录（供负载均衡和监控探测）。"""
    with rt.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": rt.engine.dialect.name,
            "node": rt.settings.node_code}
