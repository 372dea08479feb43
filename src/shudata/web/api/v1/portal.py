"""Open-data portal, staff side (/api/v1/portal): publish and withdraw through the gate,
gate results, the applications queue, public data requests to answer.

The public side is the portal pages (/portal), the CKAN-compatible Action API
(/api/3/action) and DCAT (/catalog.ttl).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from shudata.portal import developers, requests, service
from shudata.portal.schemas import (
    ApplicationDecide,
    ApplicationRead,
    DataRequestAnswer,
    DataRequestRead,
    PublicationRead,
    PublishCreate,
    WithdrawCreate,
)
from shudata.web.deps import SessionDep, SettingsDep, UserDep

router = APIRouter(tags=["portal"])


@router.post("/portal/publications", response_model=PublicationRead, status_code=201,
             summary="发布到开放门户（经开放闸门）/ publish through the open-data gate",
             responses={422: {"description": "闸门拒绝：仍有未脱敏的个人信息（error.details.gate 列出发现）"}})
def publish(data: PublishCreate, session: SessionDep, settings: SettingsDep, actor: UserDep) -> PublicationRead:
    """把目录条目的一个数据版本发布到开放门户：先经开放闸门（脱敏与个人信息检查），未通过返回 422 并列出发现。"""
    return service.publish_or_refuse(session=session, settings=settings, actor=actor, resource=data.resource,
                                     version=data.version)  # a refusal is kept for the steward, then a 422


@router.post("/portal/withdrawals", response_model=PublicationRead, summary="撤回已发布的版本 / withdraw")
def withdraw(data: WithdrawCreate, session: SessionDep, settings: SettingsDep, actor: UserDep) -> PublicationRead:
    """撤回已发布的版本并说明原因；门户随即不再提供下载。"""
    return service.withdraw(session=session, settings=settings, actor=actor, resource=data.resource,
                            reason=data.reason, version=data.version)


@router.get("/portal/publications", response_model=list[PublicationRead],
            summary="某条目的开放闸门记录 / gate results of an entry")
def publications(session: SessionDep, actor: UserDep, resource: str = Query(..., description="资源代码或别名")
                 ) -> list[PublicationRead]:
    """某目录条目在开放闸门的全部记录：发布、撤回与闸门发现。"""
    return service.list_publications(session=session, actor=actor, resource=resource)


@router.get("/portal/applications", response_model=list[ApplicationRead],
            summary="有条件开放数据的申请队列 / applications queue")
def applications(session: SessionDep, actor: UserDep, status: str | None = None) -> list[ApplicationRead]:
    """有条件开放数据的使用申请队列（数据管理员处理本部门的申请），可按状态筛选。"""
    return developers.application_queue(session=session, actor=actor, status=status)


@router.post("/portal/applications/{application_id}/decision", response_model=ApplicationRead,
             summary="批准、拒绝或撤销申请 / decide an application")
def decide(application_id: int, data: ApplicationDecide, session: SessionDep, actor: UserDep) -> ApplicationRead:
    """批准、拒绝或撤销一项有条件开放数据的申请；批准后申请人的 API 密钥可访问该数据。"""
    return developers.decide_application(session=session, actor=actor, application_id=application_id, data=data)


class QueuedRequest(BaseModel):
    request: DataRequestRead
    contact_email: str


@router.get("/portal/requests", response_model=list[QueuedRequest], summary="待答复的公众数据需求 / requests to answer")
def request_queue(session: SessionDep, actor: UserDep) -> list[QueuedRequest]:
    """公众提交的、待本部门答复的数据需求（含联系邮箱，仅数据管理员可见）。"""
    return [QueuedRequest(request=r, contact_email=e) for r, e in requests.steward_queue(session=session, actor=actor)]


@router.post("/portal/requests/{request_id}/answer", response_model=DataRequestRead,
             summary="答复公众数据需求（答复公开）/ answer a public data request")
def answer(request_id: int, data: DataRequestAnswer, session: SessionDep, actor: UserDep) -> DataRequestRead:
    """答复一项公众数据需求；答复在门户上公开。"""
    return requests.answer(session=session, actor=actor, request_id=request_id, data=data)
