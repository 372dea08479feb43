"""Departments and users."""

from __future__ import annotations

from fastapi import APIRouter

from shudata.security import service
from shudata.security.schemas import (
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)
from shudata.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(tags=["departments & users"])


@router.get("/departments", response_model=list[DepartmentRead], summary="部门列表 / departments")
def list_departments(session: SessionDep, actor: ActorDep) -> list[DepartmentRead]:
    """全部部门（名称、统一社会信用代码、行政区划代码），登录用户可读。"""
    return service.list_departments(session=session, actor=actor)


@router.post("/departments", response_model=DepartmentRead, status_code=201, summary="新增部门")
def create_department(data: DepartmentCreate, session: SessionDep, actor: ActorDep) -> DepartmentRead:
    """新增部门（平台管理员）；统一社会信用代码须通过校验位检查，名称与代码不得重复。"""
    return service.create_department(session=session, actor=actor, data=data)


@router.patch("/departments/{department_id}", response_model=DepartmentRead, summary="修改部门")
def update_department(department_id: int, data: DepartmentUpdate, session: SessionDep,
                      actor: ActorDep) -> DepartmentRead:
    """修改部门信息（平台管理员）；变更记入审计。"""
    return service.update_department(session=session, actor=actor, department_id=department_id, data=data)


@router.get("/users", response_model=list[UserRead], summary="用户列表 / users")
def list_users(session: SessionDep, actor: ActorDep) -> list[UserRead]:
    """用户列表（平台管理员）：账号、所属部门、角色与是否启用。"""
    return service.list_users(session=session, actor=actor)


@router.post("/users", response_model=UserRead, status_code=201, summary="新增用户")
def create_user(data: UserCreate, session: SessionDep, actor: ActorDep, settings: SettingsDep) -> UserRead:
    """新增用户（平台管理员）：密码须满足长度与复杂度要求，角色决定可执行的操作。"""
    return service.create_user(session=session, actor=actor, data=data, settings=settings)


@router.patch("/users/{user_id}", response_model=UserRead, summary="修改用户")
def update_user(user_id: int, data: UserUpdate, session: SessionDep, actor: ActorDep,
                settings: SettingsDep) -> UserRead:
    """A new password or ``is_active: false`` ends every browser session of the account."""
    return service.update_user(session=session, actor=actor, user_id=user_id, data=data, settings=settings)
