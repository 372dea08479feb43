"""Use cases of the sharing workflow: request, decide, dispute, resolve, revoke, escalate.

Deadlines are counted in working days on :class:`~shudata.sharing.calendar.WorkCalendar`
with the province's overrides. Every step is authorised, audited and notified.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog import visibility
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound
from shudata.core.types import Actor, ResourceRef
from shudata.security.authz import allowed, require
from shudata.sharing import actions as A
from shudata.sharing import prepare
from shudata.sharing.calendar import WorkCalendar
from shudata.sharing.filters import validate_row_filter
from shudata.sharing.masking import check_profile
from shudata.sharing.models import (
    CalendarOverride,
    SharingDispute,
    SharingGrant,
    SharingNotification,
    SharingRequest,
)
from shudata.sharing.nodes.service import notify_origin
from shudata.sharing.schemas import (
    Decision,
    DecisionCreate,
    DisputeCreate,
    DisputeResolve,
    GrantRead,
    RequestCreate,
    RequestRead,
    RevokeCreate,
)
from shudata.sharing.workflow import (
    DISPUTES,
    DisputeEvent,
    DisputeStatus,
    RequestEvent,
    RequestStatus,
    initial_status,
    next_status,
)


def calendar(session: Session) -> WorkCalendar:
    """The working-day calendar with this node's overrides."""
    rows = session.scalars(select(CalendarOverride))
    return WorkCalendar({r.day: r.is_workday for r in rows})


def _today() -> dt.date:
    return utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).date()  # China Standard Time


def _items(res: CatalogResource) -> list[str]:
    return [str(i["name"]) for i in res.information_items or []]


def _notify(session: Session, *, kind: str, message: str, request: SharingRequest,
            department_id: int | None = None, username: str | None = None) -> None:
    session.add(SharingNotification(kind=kind, message=message, request_id=request.id,
                                    department_id=department_id, username=username))


def _grant(session: Session, req: SharingRequest, *, settings: Settings, fields: list[str],
           row_filter: str | None = None, until: dt.date | None = None, profile: str | None = None,
           quota_rows: int | None = None, quota_calls: int | None = None) -> SharingGrant:
    end = until or req.use_until
    grant = SharingGrant(
        request_id=req.id, resource_id=req.resource_id, consumer_department_id=req.requester_department_id,
        fields=fields, row_filter=row_filter, masking_profile=profile or settings.sharing_default_profile,
        purpose=req.purpose, expires_at=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
        quota_rows_per_day=quota_rows, quota_calls_per_day=quota_calls)
    session.add(grant)
    session.flush()
    prepare.after_grant(session, settings, grant.id)  # the masked file, built once this commits
    return grant


def read_request(session: Session, req: SharingRequest, today: dt.date | None = None) -> RequestRead:
    res = session.get(CatalogResource, req.resource_id)
    grant = session.scalar(select(SharingGrant).where(SharingGrant.request_id == req.id))
    out = RequestRead.model_validate(req)
    out.resource_code = res.code if res else ""
    out.resource_name = res.name if res else ""
    out.overdue = bool(req.status == RequestStatus.PENDING and req.due_date and (today or _today()) > req.due_date)
    out.grant = GrantRead.model_validate(grant) if grant else None
    return out


def request_access(*, session: Session, actor: Actor, settings: Settings, data: RequestCreate) -> RequestRead:
    """File a request. 无条件共享 is granted at once; 不予共享 refused with the catalog's basis."""
    require(actor, A.REQUEST_CREATE)
    res = visibility.require_visible(session, actor, find_resource(session, data.resource), data.resource)
    if actor.department_id is None:
        raise InvalidInput("只有部门用户可以申请共享数据", "Only department users can request shared data",
                           code="department_user_required")
    if res.provider_department_id == actor.department_id:
        raise InvalidInput("本部门的资源无需申请共享", "Your own department's resources need no sharing request",
                           code="own_department_resource")
    unknown = [f for f in data.fields if f not in _items(res)]
    if unknown:
        raise InvalidInput(f"资源“{res.name}”没有这些信息项：{'、'.join(unknown)}",
                           f"Resource {res.code} has no fields {', '.join(unknown)}", code="unknown_field")
    status = initial_status(res.sharing_type)
    submitted = _today()
    req = SharingRequest(
        resource_id=res.id, provider_department_id=res.provider_department_id,
        requester_department_id=actor.department_id, requester=actor.username, fields=list(data.fields),
        purpose=data.purpose.value, purpose_text=data.purpose_text, basis=data.basis, use_from=data.use_from,
        use_until=data.use_until, delivery_method=data.delivery_method.value, sharing_type=res.sharing_type,
        status=status,
        due_date=calendar(session).add_working_days(submitted, settings.sharing_deadline_days)
        if status == RequestStatus.PENDING else None)
    session.add(req)
    session.flush()
    if status == RequestStatus.APPROVED:
        req.decided_at, req.decided_by = utcnow(), "system"
        req.decision_reason = "无条件共享，自动批准"
        _grant(session, req, settings=settings, fields=list(data.fields))
    elif status == RequestStatus.REFUSED:
        req.decided_at, req.decided_by = utcnow(), "system"
        req.decision_reason = f"不予共享。依据：{res.sharing_condition}"
    else:
        _notify(session, kind="request.pending", request=req, department_id=res.provider_department_id,
                message=f"{actor.username} 申请共享“{res.name}”，请于 {req.due_date} 前答复")
    record(session, actor, events.SharingRequestCreate(
        resource_id=str(req.id),
        details={"resource": res.code, "status": status, "fields": data.fields}))
    return read_request(session, req)


def _load(session: Session, request_id: int) -> SharingRequest:
    req = session.get(SharingRequest, request_id)
    if req is None:
        raise NotFound(f"共享申请 {request_id} 不存在", f"Sharing request {request_id} not found",
                       code="request_not_found")
    return req


def _decision_terms(session: Session, req: SharingRequest, data: DecisionCreate) -> tuple[list[str], str | None]:
    """Validate a (partial) approval's fields, row filter and period before anything changes."""
    fields = list(req.fields)
    if data.decision == Decision.APPROVE_PARTIAL and data.fields is not None:
        extra = [f for f in data.fields if f not in req.fields]
        if extra or not data.fields:
            raise InvalidInput(f"部分批准的信息项须为所申请信息项的非空子集：{'、'.join(extra)}",
                               "Partially approved fields must be a non-empty subset of the requested ones",
                               code="fields_not_subset")
        fields = list(data.fields)
    if data.row_filter:
        res = session.get(CatalogResource, req.resource_id)
        validate_row_filter(data.row_filter, _items(res) if res else fields)
    if data.use_until is not None and data.use_until > req.use_until:
        raise InvalidInput("批准的使用期限不能长于申请的期限", "The approved period exceeds the requested one",
                           code="period_exceeds_request")
    if data.masking_profile is not None:
        check_profile(data.masking_profile)
    return fields, data.row_filter or None


def decide(*, session: Session, actor: Actor, settings: Settings, request_id: int,
           data: DecisionCreate) -> RequestRead:
    """The provider's steward approves, approves in part or refuses a pending request.

    Everything is validated before the request changes, so a refused decision leaves it as it was.
    """
    req = _load(session, request_id)
    require(actor, A.REQUEST_DECIDE, ResourceRef("sharing_request", req.id, req.provider_department_id))
    new_status = next_status(req.status, RequestEvent(data.decision.value))
    fields, row_filter = _decision_terms(session, req, data) if data.decision != Decision.REFUSE else ([], None)
    req.status = new_status
    req.decided_at, req.decided_by, req.decision_reason = utcnow(), actor.username, data.reason
    if data.decision != Decision.REFUSE:
        _grant(session, req, settings=settings, fields=fields, row_filter=row_filter, until=data.use_until,
               profile=data.masking_profile, quota_rows=data.quota_rows_per_day,
               quota_calls=data.quota_calls_per_day)
    _notify(session, kind=f"request.{req.status}", request=req, department_id=req.requester_department_id,
            message=f"共享申请 #{req.id} 已处理：{req.status}")
    decided = events.SHARING_DECISIONS[data.decision.value]
    record(session, actor, decided(resource_id=str(req.id), details={"reason": data.reason}))
    notify_origin(session, settings, req)
    return read_request(session, req)


def raise_dispute(*, session: Session, actor: Actor, request_id: int, data: DisputeCreate) -> RequestRead:
    """The requester disputes a refusal, or an overdue pending request (协调)."""
    req = _load(session, request_id)
    require(actor, A.DISPUTE_RAISE, ResourceRef("sharing_request", req.id, req.requester_department_id))
    if req.status == RequestStatus.PENDING and not (req.due_date and _today() > req.due_date):
        raise InvalidInput("申请尚未超过答复时限，暂不能提出争议", "The request is not overdue yet", code="not_overdue")
    req.status = next_status(req.status, RequestEvent.DISPUTE)
    dispute = SharingDispute(request_id=req.id, raised_by=actor.username, reason=data.reason)
    session.add(dispute)
    _notify(session, kind="dispute.raised", request=req, message=f"共享申请 #{req.id} 提出争议，请平台协调")
    record(session, actor, events.SharingDisputeRaise(resource_id=str(req.id), details={"reason": data.reason}))
    return read_request(session, req)


def resolve_dispute(*, session: Session, actor: Actor, settings: Settings, request_id: int,
                    data: DisputeResolve) -> RequestRead:
    """The platform admin coordinates: grant the requested data, or uphold the refusal."""
    require(actor, A.DISPUTE_RESOLVE)
    req = _load(session, request_id)
    req.status = next_status(req.status, RequestEvent.RESOLVE_GRANT if data.grant else RequestEvent.RESOLVE_UPHOLD)
    dispute = session.scalar(select(SharingDispute).where(SharingDispute.request_id == req.id,
                                                          SharingDispute.status == DisputeStatus.OPEN))
    if dispute is not None:
        dispute.status = DISPUTES.next(dispute.status, DisputeEvent.RESOLVE)
        dispute.resolution = data.resolution
        dispute.resolved_by, dispute.resolved_at = actor.username, utcnow()
    req.decided_at, req.decided_by, req.decision_reason = utcnow(), actor.username, data.resolution
    if data.grant and session.scalar(select(SharingGrant.id).where(SharingGrant.request_id == req.id)) is None:
        _grant(session, req, settings=settings, fields=list(req.fields))
    for dept in (req.requester_department_id, req.provider_department_id):
        _notify(session, kind="dispute.resolved", request=req, department_id=dept,
                message=f"共享申请 #{req.id} 的争议已协调：{'予以共享' if data.grant else '维持拒绝'}")
    record(session, actor, events.SharingDisputeResolve(resource_id=str(req.id), details={"grant": data.grant}))
    notify_origin(session, settings, req)
    return read_request(session, req)


def revoke_grant(*, session: Session, actor: Actor, grant_id: int, data: RevokeCreate) -> GrantRead:
    """Revoke a grant; it stops working on the next call."""
    grant = session.get(SharingGrant, grant_id)
    if grant is None:
        raise NotFound(f"授权 {grant_id} 不存在", f"Grant {grant_id} not found", code="grant_not_found")
    res = session.get(CatalogResource, grant.resource_id)
    require(actor, A.GRANT_REVOKE, ResourceRef("sharing_grant", grant.id, res.provider_department_id if res else None))
    if grant.revoked_at is None:
        grant.revoked_at, grant.revoked_by = utcnow(), actor.username
    record(session, actor, events.SharingGrantRevoke(resource_id=str(grant.id), details={"reason": data.reason}))
    return GrantRead.model_validate(grant)


def list_requests(*, session: Session, actor: Actor, box: str = "incoming", status: str | None = None,
                  overdue_only: bool = False) -> list[RequestRead]:
    """A department's queue: ``incoming`` (to decide) or ``outgoing`` (filed); admins and auditors see all."""
    require(actor, A.REQUEST_VIEW)
    stmt = select(SharingRequest).order_by(SharingRequest.id.desc())
    if not allowed(actor, A.REQUEST_VIEW_ALL):
        col = SharingRequest.provider_department_id if box == "incoming" else SharingRequest.requester_department_id
        stmt = stmt.where(col == actor.department_id)
    if status:
        stmt = stmt.where(SharingRequest.status == status)
    today = _today()
    out = [read_request(session, r, today) for r in session.scalars(stmt)]
    return [r for r in out if r.overdue] if overdue_only else out


def escalate_overdue(*, session: Session, actor: Actor) -> list[int]:
    """Flag pending requests past their deadline to the provider and escalate them to the platform admin."""
    require(actor, A.DISPUTE_RESOLVE)
    today = _today()
    stmt = select(SharingRequest).where(SharingRequest.status == RequestStatus.PENDING,
                                        SharingRequest.escalated_at.is_(None), SharingRequest.due_date < today)
    escalated = []
    for req in session.scalars(stmt):
        req.escalated_at = utcnow()
        _notify(session, kind="request.overdue", request=req, department_id=req.provider_department_id,
                message=f"共享申请 #{req.id} 已超过答复时限 {req.due_date}，已提交平台管理员督办")
        _notify(session, kind="request.escalated", request=req,
                message=f"共享申请 #{req.id} 超期未答复（时限 {req.due_date}），请督办")
        record(session, actor, events.SharingRequestEscalate(
            resource_id=str(req.id), details={"due_date": str(req.due_date)}))
        escalated.append(req.id)
    return escalated


def notifications(*, session: Session, actor: Actor, unread_only: bool = True) -> list[SharingNotification]:
    mine = [SharingNotification.username == actor.username]
    if actor.department_id is not None:
        mine.append(SharingNotification.department_id == actor.department_id)
    if allowed(actor, A.NOTICE_PLATFORM):  # escalations and disputes have neither user nor department
        mine.append(SharingNotification.username.is_(None) & SharingNotification.department_id.is_(None))
    stmt = select(SharingNotification).where(or_(*mine))
    if unread_only:
        stmt = stmt.where(SharingNotification.read_at.is_(None))
    return list(session.scalars(stmt.order_by(SharingNotification.id.desc()).limit(100)))
