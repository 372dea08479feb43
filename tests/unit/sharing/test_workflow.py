"""The 国发〔2016〕51号 request workflow: happy paths and every denial."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.core.errors import Conflict, InvalidInput, PermissionDenied
from shudata.sharing import service
from shudata.sharing.grants import active_grant
from shudata.sharing.models import SharingRequest
from shudata.sharing.schemas import DecisionCreate, DisputeCreate, DisputeResolve, RequestCreate, RevokeCreate

TODAY = dt.date.today()


def _req(resource: str, fields=("统一社会信用代码", "机构名称")) -> RequestCreate:
    return RequestCreate(resource=resource, fields=list(fields), purpose="业务协同", basis="《优化营商环境条例》",
                         use_from=TODAY, use_until=TODAY + dt.timedelta(days=180))


def test_unconditional_request_is_granted_at_once(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000001"))
    assert r.status == "approved" and r.grant is not None and r.grant.active
    assert r.grant.fields == ["统一社会信用代码", "机构名称"]
    assert r.grant.masking_profile == "share-conditional"


def test_not_shared_request_is_refused_with_legal_basis(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000003"))
    assert r.status == "refused" and r.grant is None
    assert "保守国家秘密法" in (r.decision_reason or "")


def test_conditional_request_waits_with_a_working_day_deadline(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000002"))
        cal = service.calendar(s)
    assert r.status == "pending" and r.grant is None
    assert r.due_date is not None
    assert cal.working_days_between(r.submitted_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date(),
                                    r.due_date) == 10


def test_partial_approval_narrows_fields_filter_and_period(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000002"))
        d = service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id, data=DecisionCreate(
            decision="approve_partial", reason="仅提供名称", fields=["机构名称"], row_filter="注册资本 > 100",
            use_until=TODAY + dt.timedelta(days=30)))
    assert d.status == "partially_approved"
    assert d.grant.fields == ["机构名称"] and d.grant.row_filter == "注册资本 > 100"
    assert d.grant.expires_at.date() == TODAY + dt.timedelta(days=31)


@pytest.mark.parametrize(
    ("decision", "error"),
    [
        # fields outside the request
        (dict(decision="approve_partial", reason="x", fields=["法定代表人"]), InvalidInput),
        # a row filter that tries a subquery
        (dict(decision="approve_partial", reason="x", row_filter="注册资本 > (SELECT 1)"), InvalidInput),
        # a period longer than requested
        (dict(decision="approve_partial", reason="x", use_until=TODAY + dt.timedelta(days=999)), InvalidInput),
        # a masking profile that does not exist
        (dict(decision="approve", masking_profile="nothing"), InvalidInput),
    ],
)
def test_bad_partial_approvals_are_refused_and_nothing_is_granted(rt, world, decision, error):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000002"))
    with pytest.raises(error), rt.transaction() as s:
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(**decision))
    with rt.transaction() as s:
        assert s.get(SharingRequest, r.id).status == "pending"


def test_steward_of_another_department_cannot_decide(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000002"))
    with pytest.raises(PermissionDenied), rt.transaction() as s:
        service.decide(session=s, actor=world.other_steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="approve"))


def test_refusal_dispute_and_admin_resolution(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000002"))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="refuse", reason="用途不符"))
        service.raise_dispute(session=s, actor=world.user, request_id=r.id, data=DisputeCreate(reason="确有需要"))
        with pytest.raises(PermissionDenied):
            service.resolve_dispute(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                                    data=DisputeResolve(grant=True, resolution="越权协调"))
        done = service.resolve_dispute(session=s, actor=world.admin, settings=rt.settings, request_id=r.id,
                                       data=DisputeResolve(grant=True, resolution="协调后同意共享"))
    assert done.status == "approved" and done.grant is not None


def test_decided_request_cannot_be_decided_again(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000002"))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="approve"))
    with pytest.raises(Conflict), rt.transaction() as s:
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="refuse", reason="改主意"))


def test_revoked_and_expired_grants_stop_working(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000001"))
        res = find_resource(s, "201001/000001")
        assert active_grant(session=s, actor=world.user, resource=res).id == r.grant.id
        service.revoke_grant(session=s, actor=world.steward, grant_id=r.grant.id, data=RevokeCreate(reason="停用"))
    with pytest.raises(PermissionDenied, match="撤销"), rt.transaction() as s:
        active_grant(session=s, actor=world.user, resource=find_resource(s, "201001/000001"))
    with rt.transaction() as s:
        r2 = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000001"))
        from shudata.sharing.models import SharingGrant

        s.execute(update(SharingGrant).where(SharingGrant.id == r2.grant.id)
                  .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    with pytest.raises(PermissionDenied, match="过期"), rt.transaction() as s:
        active_grant(session=s, actor=world.user, resource=find_resource(s, "201001/000001"))


def test_overdue_requests_are_escalated_once(rt, world):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=_req("201001/000002"))
        s.execute(update(SharingRequest).where(SharingRequest.id == r.id).values(due_date=TODAY - dt.timedelta(days=2)))
    with rt.transaction() as s:
        assert service.escalate_overdue(session=s, actor=world.admin) == [r.id]
        assert service.escalate_overdue(session=s, actor=world.admin) == []
        queue = service.list_requests(session=s, actor=world.steward, box="incoming", overdue_only=True)
        notes = service.notifications(session=s, actor=world.admin)
    with rt.transaction() as s:  # audit entries are appended when their transaction commits
        events = s.scalars(select(AuditEntry.action).where(AuditEntry.action == "sharing.request.escalate")).all()
    assert [q.id for q in queue] == [r.id]
    assert any(n.kind == "request.escalated" for n in notes)
    assert events == ["sharing.request.escalate"]


def test_requesting_own_department_data_or_unknown_fields_is_refused(rt, world):
    with pytest.raises(InvalidInput, match="本部门"), rt.transaction() as s:
        service.request_access(session=s, actor=world.steward, settings=rt.settings, data=_req("201001/000001"))
    with pytest.raises(InvalidInput, match="没有这些信息项"), rt.transaction() as s:
        service.request_access(session=s, actor=world.user, settings=rt.settings,
                               data=_req("201001/000001", fields=["身份证号"]))
