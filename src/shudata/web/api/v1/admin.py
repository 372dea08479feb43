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
    return service.list_departments(session=session, actor=actor)


@router.post("/departments", response_model=DepartmentRead, status_code=201, summary="新增部门")
def create_department(data: DepartmentCreate, session: SessionDep, actor: ActorDep) -> DepartmentRead:
    return service.create_department(session=session, actor=actor, data=data)


@router.patch("/departments/{department_id}", response_model=DepartmentRead, summary="修改部门")
def update_department(department_id: int, data: DepartmentUpdate, session: SessionDep,
                      actor: ActorDep) -> DepartmentRead:
    return service.update_department(session=session, actor=actor, department_id=department_id, data=data)


@router.get("/users", response_model=list[UserRead], summary="用户列表 / users")
def list_users(session: SessionDep, actor: ActorDep) -> list[UserRead]:
    return service.list_users(session=session, actor=actor)


@router.post("/users", response_model=UserRead, status_code=201, summary="新增用户")
def create_user(data: UserCreate, session: SessionDep, actor: ActorDep, settings: SettingsDep) -> UserRead:
    return service.create_user(session=session, actor=actor, data=data, settings=settings)


@router.patch("/users/{user_id}", response_model=UserRead, summary="修改用户")
def update_user(user_id: int, data: UserUpdate, session: SessionDep, actor: ActorDep,
                settings: SettingsDep) -> UserRead:
    """A new password or ``is_active: false`` ends every browser session of the account."""
    return service.update_user(session=session, actor=actor, user_id=user_id, data=data, settings=settings)
