"""Federation between nodes: the signed-message inbox and this node's identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shudata.core.errors import NotFound
from shudata.sharing.nodes import exchange, service
from shudata.web.deps import RuntimeDep, SessionDep

router = APIRouter(tags=["federation"])


class InboxMessage(BaseModel):
    envelope: dict[str, Any] = Field(description="{id, type, from, to, ts, body}")
    signature: str = Field(max_length=200, description="SM2 签名（十六进制）")


@router.post("/federation/inbox", summary="接收其他节点的签名消息 / receive a signed node message")
def inbox(msg: InboxMessage, rt: RuntimeDep) -> dict[str, Any]:
    """接收其他节点（省、市）发来的 SM2 签名消息：验证签名、时间戳与来源节点后处理，重复或过期的消息被拒绝。"""
    return exchange.handle_inbox(sessions=rt.sessions, settings=rt.settings, envelope=msg.envelope,
                                signature=msg.signature)


@router.get("/federation/identity", summary="本节点身份与 SM2 公钥 / this node's identity")
def identity(session: SessionDep) -> dict[str, str]:
    """只读：节点身份在应用启动时创建。Read only: the identity is created when the app starts."""
    node = service.find_identity(session)
    if node is None:
        raise NotFound("本节点身份尚未创建，请重启服务或运行 shudata node identity",
                                 "This node's identity has not been created yet; restart the server or run "
                                 "`shudata node identity`", code="node_identity_missing")
    return {"code": node.code, "name": node.name, "public_key": node.public_key}
