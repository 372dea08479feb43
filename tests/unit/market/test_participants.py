"""交易主体: registration (USCC check digit), documents stored encrypted, the operator's decisions,
who acts for whom — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shudata.audit.models import AuditEntry
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from shudata.core.types import Actor, Role
from shudata.market import participants as P
from shudata.market.models import MarketMember, MarketReview, MarketSigningKey
from shudata.market.schemas import (
    AccountCreate,
    DepartmentSellerCreate,
    ParticipantBrief,
    ParticipantCreate,
    ParticipantRead,
    ReviewCreate,
)
from shudata.security.service import authenticate
from support.market import PASSWORD, enterprise, uscc

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 2000


def _create(n: int = 7, **over: Any) -> ParticipantCreate:
    data: dict[str, Any] = dict(name="成都天府数据科技有限公司", uscc=uscc(n), kinds=["seller", "broker"],
                                legal_representative="王五", contact_name="赵六", contact_phone="13800000000",
                                account=AccountCreate(username="tfdata", display_name="天府数据", password=PASSWORD))
    data.update(over)
    return ParticipantCreate(**data)


def test_registration_checks_the_uscc_check_character() -> None:
    good = uscc(7)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert _create(uscc=good.lower()).uscc == good
    with pytest.raises(ValidationError, match="统一社会信用代码无效"):
        _create(uscc=bad)
    with pytest.raises(ValidationError):
        _create(kinds=["landlord"])


def test_an_enterprise_registers_with_its_first_account_who_then_logs_in(rt: Any) -> None:
    with rt.transaction() as s:
        p = P.register_participant(session=s, actor=Actor.anonymous(), settings=rt.settings, data=_create())
    assert p.status == "pending" and p.kinds == ["seller", "broker"] and p.grade is None
    with rt.transaction() as s:
        actor = authenticate(session=s, username="tfdata", password=PASSWORD)
        assert actor.roles == frozenset({Role.MARKET_MEMBER}) and actor.department_id is None
        assert [m.id for m in P.memberships(s, actor)] == [p.id]
        row = s.query(MarketMember).one()
        assert row.is_admin and row.participant_id == p.id
        actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.seq)]
        assert actions[-2:] == ["security.user.create", "market.participant.register"]
    with rt.transaction() as s, pytest.raises(Conflict):  # same code again
        P.register_participant(session=s, actor=Actor.anonymous(), settings=rt.settings,
                               data=_create(name="另一家公司", account=AccountCreate(
                                   username="other", display_name="o", password=PASSWORD)))
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:  # the anonymous must bring an account
        P.register_participant(session=s, actor=Actor.anonymous(), settings=rt.settings,
                               data=_create(8, name="第三家公司", account=None))
    assert exc.value.code == "account_required"
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:  # password policy applies
        P.register_participant(session=s, actor=Actor.anonymous(), settings=rt.settings, data=_create(
            9, name="第四家公司", account=AccountCreate(username="weak", display_name="w", password="password1")))
    assert exc.value.code == "weak_password"


def test_operator_decisions_are_recorded_and_audited(rt: Any, make_user: Any) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    pid, member = enterprise(rt, 3, "m3", "buyer", grade=None)
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # members do not review themselves
        P.review_participant(session=s, actor=member, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="approve", grade="A"))
    admin = make_user("plat_admin", Role.PLATFORM_ADMIN)
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # nor does the platform admin
        P.review_participant(session=s, actor=admin, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="approve", grade="A"))
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:
        P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="refuse"))
    assert exc.value.code == "reason_required"
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:
        P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="approve"))
    assert exc.value.code == "grade_required"
    steps = [("refuse", None, "缺营业执照", "refused"), ("approve", "B", None, "refused")]
    with rt.transaction() as s:
        p = P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                                 data=ReviewCreate(decision="refuse", reason=steps[0][2]))
        assert p.status == "refused" and p.reason == "缺营业执照"
    with rt.transaction() as s, pytest.raises(Conflict):  # refused → approve is no transition
        P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="approve", grade="B"))
    with rt.transaction() as s:
        assert P.resubmit(session=s, actor=member, participant_id=pid).status == "pending"
    for decision, grade, reason, status in [("approve", "B", None, "approved"),
                                            ("suspend", None, "逾期未年检", "suspended"),
                                            ("reinstate", None, None, "approved"), ("grade", "A", None, "approved"),
                                            ("revoke", None, "违规转售", "revoked")]:
        with rt.transaction() as s:
            p = P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                                     data=ReviewCreate(decision=decision, grade=grade, reason=reason))
        assert p.status == status, decision
    assert p.grade == "A" and p.reason == "违规转售" and p.public_key
    with rt.transaction() as s:
        rows = s.query(MarketReview).filter_by(participant_id=pid).order_by(MarketReview.id).all()
        assert [r.decision for r in rows] == ["refuse", "resubmit", "approve", "suspend", "reinstate", "grade",
                                              "revoke"]
        audited = [(e.action, e.outcome) for e in s.query(AuditEntry).filter(
            AuditEntry.action == "market.participant.review").order_by(AuditEntry.seq)]
        assert len(audited) == 6 and {o for _, o in audited} == {"success"}
        assert s.query(MarketSigningKey).filter_by(participant_id=pid).count() == 1
        with pytest.raises(Conflict):
            P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                                 data=ReviewCreate(decision="reinstate"))


def test_a_department_sells_under_authorised_operation_through_its_stewards(rt: Any, make_user: Any,
                                                                            make_department: Any) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    dept = make_department("四川省大数据中心")
    steward = make_user("dsj_steward", Role.DATA_STEWARD, department_id=dept)
    user = make_user("dsj_user", Role.DEPT_USER, department_id=dept)
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        P.register_department_seller(session=s, actor=steward, data=DepartmentSellerCreate(
            department_id=dept, authorisation="川府函〔2026〕1号", legal_representative="张三", contact_name="李四",
            contact_phone="02886000000"))
    with rt.transaction() as s:
        p = P.register_department_seller(session=s, actor=op, data=DepartmentSellerCreate(
            department_id=dept, authorisation="川府函〔2026〕1号 公共数据授权运营", legal_representative="张三",
            contact_name="李四", contact_phone="02886000000"))
        P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=p.id,
                             data=ReviewCreate(decision="approve", grade="A"))
    assert p.entity_type == "department" and p.kinds == ["seller"] and p.name == "四川省大数据中心"
    with rt.transaction() as s:
        assert P.acting_for(s, steward, p.id).id == p.id
        with pytest.raises(PermissionDenied):
            P.acting_for(s, user, p.id)


def test_documents_are_stored_encrypted_and_read_back_by_members_and_oversight(rt: Any, make_user: Any) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    reg = make_user("regulator1", Role.REGULATOR)
    pid, member = enterprise(rt, 4, "m4", "seller", grade=None)
    _, stranger = enterprise(rt, 5, "m5", "buyer", grade=None)
    with rt.transaction() as s:
        doc = P.upload_document(session=s, actor=member, settings=rt.settings, participant_id=pid,
                                kind="business_licence", filename="../../营业执照.pdf", content=PDF)
    assert doc.filename == "营业执照.pdf" and doc.media_type == "application/pdf" and doc.size == len(PDF)
    stored = list(Path(rt.settings.data_dir, "market", "documents").rglob("*.sm4"))
    assert len(stored) == 1 and b"%PDF" not in stored[0].read_bytes()
    for who in (member, op, reg):
        with rt.transaction() as s:
            _, plain = P.read_document(session=s, actor=who, settings=rt.settings, participant_id=pid,
                                       document_id=doc.id)
        assert plain == PDF
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        P.read_document(session=s, actor=stranger, settings=rt.settings, participant_id=pid, document_id=doc.id)
    with rt.transaction() as s, pytest.raises(Unauthenticated):
        P.read_document(session=s, actor=Actor.anonymous(), settings=rt.settings, participant_id=pid,
                        document_id=doc.id)
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:
        P.upload_document(session=s, actor=member, settings=rt.settings, participant_id=pid, kind="business_licence",
                          filename="x.pdf", content=b"MZ\x90\x00 not a pdf")
    assert exc.value.code == "document_format"
    with rt.transaction() as s, pytest.raises(InvalidInput):
        P.upload_document(session=s, actor=member, settings=rt.settings, participant_id=pid, kind="selfie",
                          filename="x.pdf", content=PDF)
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        P.upload_document(session=s, actor=stranger, settings=rt.settings, participant_id=pid,
                          kind="business_licence", filename="x.pdf", content=PDF)
    with rt.transaction() as s:
        full = P.get_participant(session=s, actor=reg, participant_id=pid)
        assert isinstance(full, ParticipantRead) and [d.kind for d in full.documents] == ["business_licence"]
        with pytest.raises(NotFound):  # a pending participant is nobody else's business
            P.get_participant(session=s, actor=stranger, participant_id=pid)
        P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="approve", grade="C"))
        brief = P.get_participant(session=s, actor=stranger, participant_id=pid)
        assert isinstance(brief, ParticipantBrief) and not hasattr(brief, "contact_phone")
        assert [p.status for p in P.list_participants(session=s, actor=op, status="approved")] == ["approved"]
        with pytest.raises(PermissionDenied):
            P.list_participants(session=s, actor=member)


def test_a_pending_or_suspended_participant_does_not_trade(rt: Any, make_user: Any) -> None:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    pid, member = enterprise(rt, 6, "m6", "seller", grade=None)
    with rt.transaction() as s, pytest.raises(PermissionDenied) as exc:
        P.acting_for(s, member, pid)
    assert exc.value.code == "participant_not_approved"
    with rt.transaction() as s:
        P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="approve", grade="B"))
        assert P.acting_for(s, member, pid).id == pid
        P.review_participant(session=s, actor=op, settings=rt.settings, participant_id=pid,
                             data=ReviewCreate(decision="suspend", reason="资质到期"))
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        P.acting_for(s, member, pid)
