"""Who am I, and API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shudata.security import service
from shudata.security.schemas import TokenCreate, TokenCreated, TokenRead
from shudata.web.deps import SessionDep, UserDep

router = APIRouter(tags=["auth"])


@router.get("/me", summary="当前用户 / current user")
def me(actor: UserDep) -> dict[str, Any]:
    return {"username": actor.username, "kind": actor.kind.value, "user_id": actor.user_id,
            "department_id": actor.department_id,
            "roles": sorted(r.value for r in actor.roles), "via_token": actor.token_id is not None}


@router.get("/tokens", response_model=list[TokenRead], summary="我的 API 令牌 / my tokens")
def list_tokens(session: SessionDep, actor: UserDep) -> list[TokenRead]:
    return service.list_tokens(session=session, actor=actor)


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="创建 API 令牌（只显示一次）")
def create_token(data: TokenCreate, session: SessionDep, actor: UserDep) -> TokenCreated:
    return service.create_token(session=session, actor=actor, data=data)


@router.delete("/tokens/{token_id}", response_model=TokenRead, summary="吊销 API 令牌 / revoke")
def revoke_token(token_id: int, session: SessionDep, actor: UserDep) -> TokenRead:
    return service.revoke_token(session=session, actor=actor, token_id=token_id)
