"""Public data requests (公众数据需求): anyone asks, a steward answers, answers are public.

The requester's contact email is kept for the steward and never shown publicly.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor, ResourceRef
from shudata.portal import actions as A
from shudata.portal.models import PortalDataRequest
from shudata.portal.schemas import DataRequestAnswer, DataRequestCreate, DataRequestRead
from shudata.portal.service import dataset_name, get_dataset
from shudata.portal.states import DATA_REQUESTS, DataRequestEvent, DataRequestStatus
from shudata.privacy.detect.validators import email as valid_email
from shudata.security.authz import allowed, require
from shudata.security.models import Department

STATUSES = tuple(DataRequestStatus)


def _read(session: Session, row: PortalDataRequest) -> DataRequestRead:
    out = DataRequestRead.model_validate(row)
    if row.department_id is not None:
        dept = session.get(Department, row.department_id)
        out.department_name = dept.name if dept else None
    if row.answer_resource_id is not None:
        res = session.get(CatalogResource, row.answer_resource_id)
        out.answer_dataset = dataset_name(res) if res else None
    return out


def create_request(*, session: Session, data: DataRequestCreate, ip: str | None = None) -> DataRequestRead:
    if not valid_email(data.contact_email.strip()):
        raise InvalidInput("联系邮箱格式不正确", "The contact email is not valid", details={"field": "contact_email"},
                           code="invalid_email")
    if data.department_id is not None and session.get(Department, data.department_id) is None:
        raise InvalidInput("所选部门不存在", "No such department", details={"field": "department_id"},
                           code="department_not_found")
    row = PortalDataRequest(title=data.title.strip(), description=data.description.strip(),
                            requester_name=data.requester_name.strip(), contact_email=data.contact_email.strip(),
                            department_id=data.department_id, status=DataRequestStatus.OPEN)
    session.add(row)
    session.flush()
    record(session, Actor.anonymous(ip), events.PortalRequestCreate(
        resource_id=str(row.id), details={"title": row.title}))
    return _read(session, row)


def list_public(session: Session, *, status: str | None = None, offset: int = 0, limit: int = 20
                ) -> tuple[list[DataRequestRead], int]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"未知的状态“{status}”", f"Unknown status {status!r}", code="unknown_status")
    stmt = select(PortalDataRequest)
    count = select(func.count(PortalDataRequest.id))
    if status:
        stmt, count = stmt.where(PortalDataRequest.status == status), count.where(PortalDataRequest.status == status)
    rows = session.scalars(stmt.order_by(PortalDataRequest.id.desc()).offset(max(0, offset)).limit(min(limit, 200)))
    return [_read(session, r) for r in rows], int(session.scalar(count) or 0)


def get_public(session: Session, request_id: int) -> DataRequestRead:
    row = session.get(PortalDataRequest, request_id)
    if row is None:
        raise NotFound("没有这条数据需求", "No such data request", code="data_request_not_found")
    return _read(session, row)


def steward_queue(*, session: Session, actor: Actor) -> list[tuple[DataRequestRead, str]]:
    """Open requests a steward may answer (their department's, and those addressed to no
    department), with the contact email for the reply."""
    require(actor, A.REQUEST_ANSWER)
    stmt = select(PortalDataRequest).where(PortalDataRequest.status == DataRequestStatus.OPEN)
    if not allowed(actor, A.VIEW_ALL):
        stmt = stmt.where((PortalDataRequest.department_id == actor.department_id)
                          | PortalDataRequest.department_id.is_(None))
    return [(_read(session, r), r.contact_email) for r in session.scalars(stmt.order_by(PortalDataRequest.id))]


def answer(*, session: Session, actor: Actor, request_id: int, data: DataRequestAnswer) -> DataRequestRead:
    row = session.get(PortalDataRequest, request_id)
    if row is None:
        raise NotFound("没有这条数据需求", "No such data request", code="data_request_not_found")
    ref = ResourceRef("portal.request", row.id, department_id=row.department_id)
    if allowed(actor, A.REQUEST_ANSWER) and not allowed(actor, A.REQUEST_ANSWER, ref):
        raise PermissionDenied("这条数据需求指向其他部门，只能由该部门答复",
                               "This request is addressed to another department",
                               details={"action": A.REQUEST_ANSWER.name, "resource_type": "portal.request",
                                        "resource_id": str(row.id)}, code="permission_denied")
    require(actor, A.REQUEST_ANSWER, ref)
    answered = DATA_REQUESTS.next(row.status, DataRequestEvent.ANSWER)  # Conflict when already answered
    res_id = None
    if data.dataset:
        res_id = get_dataset(session, data.dataset).resource.id
    row.status, row.answer, row.answer_resource_id = answered, data.answer.strip(), res_id
    row.answered_by, row.answered_at = actor.username, utcnow()
    if row.department_id is None:
        row.department_id = actor.department_id
    record(session, actor, events.PortalRequestAnswer(resource_id=str(row.id),
                                                      details={"dataset": data.dataset}))
    return _read(session, row)
