"""Who am I, and API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from shudata.security import service
from shudata.security.schemas import PasswordChange, PasswordChanged, TokenCreate, TokenCreated, TokenRead
from shudata.web.deps import LoginGuardDep, SessionDep, SettingsDep, UserDep

router = APIRouter(tags=["auth"])


@router.get("/me", summary="当前用户 / current user")
def me(actor: UserDep) -> dict[str, Any]:
    """调用者本人：用户名、所属部门、角色，以及本次请求是否经由 API 令牌。"""
    return {"username": actor.username, "kind": actor.kind.value, "user_id": actor.user_id,
            "department_id": actor.department_id,
            "roles": sorted(r.value for r in actor.roles), "via_token": actor.token_id is not None}


@router.post("/me/password", response_model=PasswordChanged, summary="修改本人密码 / change my password")
def change_password(data: PasswordChange, request: Request, session: SessionDep, actor: UserDep,
                    guard: LoginGuardDep, settings: SettingsDep) -> PasswordChanged:
    """调用者修改自己的密码：须提供当前密码（输错按登录失败计数，连续输错会被锁定，返回 429），新密码须符合密码策略且与
    当前密码不同。成功后该账号的其他浏览器会话全部结束（本会话保留）；`revoke_tokens` 为 true（默认）时该账号的全部
    API 令牌一并吊销，包括本次调用所用的令牌。"""
    sid = request.session.get("sid") if actor.token_id is None else None
    return service.change_own_password(session=session, guard=guard, actor=actor, data=data, sid=sid,
                                       settings=settings)


@router.get("/tokens", response_model=list[TokenRead], summary="我的 API 令牌 / my tokens")
def list_tokens(session: SessionDep, actor: UserDep) -> list[TokenRead]:
    """调用者自己的 API 令牌（不含令牌明文）：名称、前缀、到期时间、最近使用时间、是否已吊销。"""
    return service.list_tokens(session=session, actor=actor)


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="创建 API 令牌（只显示一次）")
def create_token(data: TokenCreate, session: SessionDep, actor: UserDep) -> TokenCreated:
    """为调用者创建一个 API 令牌；明文只在本响应中出现一次，请妥善保存，
    此后以 `Authorization: Bearer <令牌>` 调用接口。"""
    return service.create_token(session=session, actor=actor, data=data)


@router.delete("/tokens/{token_id}", response_model=TokenRead, summary="吊销 API 令牌 / revoke")
def revoke_token(token_id: int, session: SessionDep, actor: UserDep) -> TokenRead:
    """吊销调用者自己的一个令牌，立即生效；已吊销的令牌再调用接口返回 401。"""
    return service.revoke_token(session=session, actor=actor, token_id=token_id)
