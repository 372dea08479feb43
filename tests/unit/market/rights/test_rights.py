"""Rights registration (确权登记) in the store: apply → review → public notice with objections →
certificate; 许可, 转移, 注销, 撤销 on a certificate; the public verification (API, page, PDF);
a licence for each purchase of 数据加工使用权 through the ``market_event`` hook."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from shudata.core.clock import local_date, utcnow
from shudata.core.errors import Conflict, InvalidInput, PermissionDenied
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.market.events import MarketEvent, emit
from shudata.market.ledger.models import MarketLedgerEntry
from shudata.market.models import MarketOrder, MarketPricePlan, MarketProduct
from shudata.market.rights import service as R
from shudata.market.rights.models import MarketLicence
from shudata.market.rights.schemas import Evidence, ObjectionCreate, RegistrationCreate
from shudata.market.rights.states import RegistrationType, Right
from shudata.sharing.calendar import WorkCalendar
from support.market import MarketWorld, enterprise, market_world
from support.pdftext import pdf_content, pdf_text

EVIDENCE = [Evidence(name="数据采集授权协议.pdf", digest="a" * 64, note="与数据来源单位签订")]


@pytest.fixture
def world(rt: Runtime, make_user: Callable[..., Actor]) -> MarketWorld:
    return market_world(rt, make_user)


def today(rt: Runtime) -> dt.date:
    return local_date(utcnow(), rt.settings.timezone)


def registered(rt: Runtime, w: MarketWorld, right: Right = Right.HOLDING, **kw: Any) -> str:
    """Apply as the seller, approve, let the notice run out, conclude: the certificate number (the
    registration's number when its type issues none)."""
    data = RegistrationCreate(right=right, subject=kw.pop("subject", "四川省企业登记信息数据集"),
                              evidence=EVIDENCE, **kw)
    with rt.transaction() as s:
        number = R.apply(session=s, settings=rt.settings, actor=w.seller, data=data).number
    with rt.transaction() as s:
        reg = R.review(session=s, settings=rt.settings, actor=w.operator, number=number, approve=True)
        end = reg.notice_end
    assert end is not None
    with rt.transaction() as s:
        reg = R.conclude(session=s, settings=rt.settings, actor=w.operator, number=number,
                         on=end + dt.timedelta(days=1))
        assert reg.status == "registered"
        return reg.certificate_number or reg.number  # 注销 / 撤销 / 异议 issue no certificate


def test_the_full_path_with_an_objection(rt: Runtime, world: MarketWorld) -> None:
    data = RegistrationCreate(right=Right.HOLDING, subject="四川省企业登记信息数据集", description="省市场监管局归集",
                              evidence=EVIDENCE)
    with rt.transaction() as s:
        reg = R.apply(session=s, settings=rt.settings, actor=world.seller, data=data)
        number = reg.number
        assert reg.status == "submitted" and reg.holder_id == world.seller_id
    with rt.transaction() as s:
        reg = R.review(session=s, settings=rt.settings, actor=world.operator, number=number, approve=True)
        start, end = reg.notice_start, reg.notice_end
    assert start == today(rt) and end == WorkCalendar().add_working_days(start, rt.settings.market_rights_notice_days)
    with rt.transaction() as s, pytest.raises(Conflict) as err:  # the notice is still running
        R.conclude(session=s, settings=rt.settings, actor=world.operator, number=number, on=end)
    assert err.value.code == "rights_notice_running"
    with rt.transaction() as s:
        objection = R.object_to(session=s, settings=rt.settings, actor=world.buyer, number=number, on=end,
                                data=ObjectionCreate(objector="测试数据企业2有限公司",
                                                     reason="该数据集部分字段由我方采集"))
        oid = objection.id
        assert R.get(s, number).status == "objected"
    with rt.transaction() as s, pytest.raises(Conflict) as err:
        R.object_to(session=s, settings=rt.settings, actor=world.buyer, number=number, on=end + dt.timedelta(days=1),
                    data=ObjectionCreate(objector="某单位", reason="公示期后提出的异议"))
    assert err.value.code == "rights_notice_over"
    with rt.transaction() as s, pytest.raises(Conflict):  # not while an objection is pending
        R.conclude(session=s, settings=rt.settings, actor=world.operator, number=number,
                   on=end + dt.timedelta(days=1))
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        R.decide_objection(session=s, settings=rt.settings, actor=world.seller, objection_id=oid, uphold=False,
                           decision="驳回")
    with rt.transaction() as s:
        R.decide_objection(session=s, settings=rt.settings, actor=world.operator, objection_id=oid, uphold=False,
                           decision="异议人未能提供采集证明，驳回")
        assert R.get(s, number).status == "notice"
    with rt.transaction() as s:
        reg = R.conclude(session=s, settings=rt.settings, actor=world.operator, number=number,
                         on=end + dt.timedelta(days=1))
        cert = reg.certificate_number
        assert reg.status == "registered" and cert == f"SD{end.year}CY{reg.id:06d}"
    with rt.transaction() as s:
        check = R.verify_certificate(session=s, actor=Actor.anonymous(), number=cert)
        on_ledger = [e.kind for e in s.scalars(select(MarketLedgerEntry).where(MarketLedgerEntry.subject_id == number))]
    assert check.in_force and check.signature_valid and check.matches_record
    assert check.content is not None and check.content["holder"]["name"] == "测试数据企业1有限公司"
    assert on_ledger == ["market.rights.apply", "market.rights.review", "market.rights.object",
                         "market.rights.objection", "market.rights.conclude"]


def test_refusals(rt: Runtime, world: MarketWorld, make_user: Callable[..., Actor]) -> None:
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # not a participant of the buyer's
        R.apply(session=s, settings=rt.settings, actor=world.buyer, data=RegistrationCreate(
            right=Right.HOLDING, subject="x", evidence=EVIDENCE, applicant_id=world.seller_id + 100))
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        R.apply(session=s, settings=rt.settings, actor=world.buyer, data=RegistrationCreate(
            right=Right.HOLDING, subject="x", evidence=EVIDENCE, applicant_id=world.seller_id))
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # the operator reviews, does not apply
        R.apply(session=s, settings=rt.settings, actor=world.operator, data=RegistrationCreate(
            right=Right.HOLDING, subject="x", evidence=EVIDENCE, applicant_id=world.seller_id))
    _, pending = enterprise(rt, 7, "pending7", "seller", grade=None)
    with rt.transaction() as s, pytest.raises(Conflict) as err:
        R.apply(session=s, settings=rt.settings, actor=pending, data=RegistrationCreate(
            right=Right.HOLDING, subject="x", evidence=EVIDENCE))
    assert err.value.code == "participant_not_approved"
    with pytest.raises(ValueError, match="证明材料"):
        RegistrationCreate(right=Right.HOLDING, subject="x")
    with pytest.raises(ValueError, match="target_number"):
        RegistrationCreate(right=Right.HOLDING, reg_type=RegistrationType.CANCEL)
    with rt.transaction() as s:
        number = R.apply(session=s, settings=rt.settings, actor=world.seller, data=RegistrationCreate(
            right=Right.HOLDING, subject="x", evidence=EVIDENCE)).number
    with rt.transaction() as s, pytest.raises(InvalidInput):  # a refusal needs a reason
        R.review(session=s, settings=rt.settings, actor=world.operator, number=number, approve=False)
    with rt.transaction() as s:
        assert R.review(session=s, settings=rt.settings, actor=world.operator, number=number, approve=False,
                        note="证明材料与登记对象不符").status == "refused"
    with rt.transaction() as s, pytest.raises(Conflict):
        R.object_to(session=s, settings=rt.settings, actor=world.buyer, number=number,
                    data=ObjectionCreate(objector="某单位", reason="对已驳回的登记提出异议"))


def test_an_upheld_objection_refuses_and_withdrawal(rt: Runtime, world: MarketWorld) -> None:
    with rt.transaction() as s:
        number = R.apply(session=s, settings=rt.settings, actor=world.seller, data=RegistrationCreate(
            right=Right.OPERATING, subject="企业信用画像", evidence=EVIDENCE)).number
        R.review(session=s, settings=rt.settings, actor=world.operator, number=number, approve=True)
        oid = R.object_to(session=s, settings=rt.settings, actor=world.buyer, number=number,
                          data=ObjectionCreate(objector="测试数据企业2有限公司", reason="经营权已授予我方")).id
        R.decide_objection(session=s, settings=rt.settings, actor=world.operator, objection_id=oid, uphold=True,
                           decision="异议成立")
        assert R.get(s, number).status == "refused"
        other = R.apply(session=s, settings=rt.settings, actor=world.seller, data=RegistrationCreate(
            right=Right.OPERATING, subject="企业信用画像二期", evidence=EVIDENCE)).number
        with pytest.raises(PermissionDenied):
            R.withdraw(session=s, settings=rt.settings, actor=world.buyer, number=other)
        assert R.withdraw(session=s, settings=rt.settings, actor=world.seller, number=other).status == "withdrawn"


def test_licence_transfer_cancel_revoke(rt: Runtime, world: MarketWorld) -> None:
    cert = registered(rt, world, Right.PROCESSING, subject="企业经营指标数据")
    lic_cert = registered(rt, world, Right.PROCESSING, reg_type=RegistrationType.LICENCE, target_number=cert,
                          counterparty_id=world.buyer_id, scope="用于信贷风控模型训练，不得转售",
                          valid_from=dt.date(2027, 1, 1), valid_until=dt.date(2027, 12, 31))
    with rt.transaction() as s:
        check = R.verify_certificate(session=s, actor=Actor.anonymous(), number=lic_cert)
        assert check.in_force and check.content is not None
        assert check.content["holder"]["uscc"] != check.content["licensor"]["uscc"]
        assert check.content["under"] == cert
        lic = s.scalars(select(MarketLicence).where(MarketLicence.licensee_id == world.buyer_id)).one()
        assert (lic.scope, lic.valid_until) == ("用于信贷风控模型训练，不得转售", dt.date(2027, 12, 31))
        assert [x.number for x in R.licences(session=s, actor=world.buyer)] == [lic.number]
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # only the holder transfers
        R.apply(session=s, settings=rt.settings, actor=world.buyer, data=RegistrationCreate(
            right=Right.PROCESSING, reg_type=RegistrationType.TRANSFER, target_number=cert,
            counterparty_id=world.seller_id))
    new_cert = registered(rt, world, Right.PROCESSING, reg_type=RegistrationType.TRANSFER, target_number=cert,
                          counterparty_id=world.buyer_id, subject="")
    with rt.transaction() as s:
        old = R.verify_certificate(session=s, actor=Actor.anonymous(), number=cert)
        new = R.verify_certificate(session=s, actor=Actor.anonymous(), number=new_cert)
    assert old.status == "superseded" and not old.in_force and old.signature_valid
    assert new.in_force and new.content is not None and new.content["replaces"] == cert
    assert new.content["holder"]["name"] == "测试数据企业2有限公司" and new.content["subject"] == "企业经营指标数据"
    with rt.transaction() as s, pytest.raises(Conflict):  # a superseded certificate takes no more registrations
        R.apply(session=s, settings=rt.settings, actor=world.seller, data=RegistrationCreate(
            right=Right.PROCESSING, reg_type=RegistrationType.CANCEL, target_number=cert))
    holding = registered(rt, world, Right.HOLDING)
    registered(rt, world, Right.HOLDING, reg_type=RegistrationType.CANCEL, target_number=holding, subject="")
    operating = registered(rt, world, Right.OPERATING, subject="企业信用画像")
    with rt.transaction() as s:
        assert R.verify_certificate(session=s, actor=Actor.anonymous(), number=holding).status == "cancelled"
        with pytest.raises(PermissionDenied):
            R.revoke(session=s, settings=rt.settings, actor=world.seller, number=operating, reason="x")
        R.revoke(session=s, settings=rt.settings, actor=world.operator, number=operating, reason="证明材料不实")
        assert not R.verify_certificate(session=s, actor=Actor.anonymous(), number=operating).in_force


def test_public_verification_pdf_and_tampering(rt: Runtime, world: MarketWorld, client: Any) -> None:
    cert = registered(rt, world)
    r = client.get(f"/api/v1/market/rights/certificates/{cert}")  # no login
    assert r.status_code == 200 and r.json()["in_force"] is True
    page = client.get(f"/market/rights/certificates/{cert}")
    assert page.status_code == 200 and "证书有效" in page.text and "测试数据企业1有限公司" in page.text
    pdf = client.get(f"/api/v1/market/rights/certificates/{cert}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "数据权益登记证书" in text and cert in text and "数据资源持有权" in text
    assert f"http://testserver/market/rights/certificates/{cert}" in text
    assert pdf_content(pdf.content).count(b" re") > 100  # the QR code's modules, drawn as squares
    assert client.get("/market/rights/certificates/SD2026CY999999").status_code == 404
    with rt.transaction() as s:  # a forged holder in the stored certificate breaks the signature
        reg = s.scalars(select(R.Reg).where(R.Reg.certificate_number == cert)).one()
        forged = json.loads(reg.certificate or "{}")
        forged["holder"]["name"] = "冒名企业"
        reg.certificate = json.dumps(forged, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert client.get(f"/api/v1/market/rights/certificates/{cert}").json()["signature_valid"] is False
    assert "签名无效" in client.get(f"/market/rights/certificates/{cert}").text


def test_a_purchase_of_the_processing_right_issues_a_licence(rt: Runtime, world: MarketWorld) -> None:
    with rt.transaction() as s:
        product = MarketProduct(code="P-0001", name="企业经营指标数据", seller_id=world.seller_id,
                                rights=["holding", "processing"], created_by="seller1")
        s.add(product)
        s.flush()
        plan = MarketPricePlan(product_id=product.id, kind="one_off", name="一次性", price_fen=100_000,
                               created_by="seller1")
        s.add(plan)
        s.flush()
        order = MarketOrder(code="MO-0001", product_id=product.id, plan_id=plan.id, buyer_id=world.buyer_id,
                            seller_id=world.seller_id, status="delivering", price_fen=100_000, purpose="信贷风控建模",
                            term_days=365, delivery_mode="online", created_by="buyer1")
        s.add(order)
        s.flush()
        emit(s, MarketEvent(kind="order.deliver", subject="order:MO-0001", actor="exchange_op"))
        emit(s, MarketEvent(kind="order.deliver", subject="order:MO-0001", actor="exchange_op"))  # once only
    with rt.transaction() as s:
        lic = s.scalars(select(MarketLicence)).one()
        assert (lic.licensee_id, lic.licensor_id, lic.scope, lic.status) == (
            world.buyer_id, world.seller_id, "信贷风控建模", "active")
        assert lic.valid_until == lic.valid_from + dt.timedelta(days=365)
        kinds = [e.kind for e in s.scalars(select(MarketLedgerEntry).order_by(MarketLedgerEntry.seq))]
        assert "market.rights.licence" in kinds and kinds.count("market.order.deliver") == 2
        emit(s, MarketEvent(kind="order.refund", subject="order:MO-0001", actor="exchange_op"))
    with rt.transaction() as s:
        assert s.scalars(select(MarketLicence)).one().status == "ended"


def test_the_public_notice_board(rt: Runtime, world: MarketWorld, client: Any, token_for: Any) -> None:
    assert "目前没有公示中的登记" in client.get("/market/rights/notices").text
    with rt.transaction() as s:
        number = R.apply(session=s, settings=rt.settings, actor=world.seller, data=RegistrationCreate(
            right=Right.OPERATING, subject="川渝企业信用画像", evidence=EVIDENCE)).number
        R.review(session=s, settings=rt.settings, actor=world.operator, number=number, approve=True)
    board = client.get("/market/rights/notices")  # no login
    assert board.status_code == 200 and number in board.text and "川渝企业信用画像" in board.text
    api = client.get("/api/v1/market/rights/notices").json()
    assert [n["number"] for n in api] == [number] and "evidence" not in api[0]  # the public sees no evidence
    assert client.get(f"/api/v1/market/rights/{number}").status_code == 401
    r = client.post(f"/market/rights/{number}/object", headers=token_for("buyer1"), follow_redirects=False,
                    data={"objector": "测试数据企业2有限公司", "reason": "该画像使用了我方提供的数据"})
    assert r.status_code == 303
    short = client.post(f"/market/rights/{number}/object", headers=token_for("buyer1"), follow_redirects=False,
                        data={"objector": "某单位", "reason": "短"})
    assert short.status_code == 303  # refused by validation, flashed, nothing written
    with rt.transaction() as s:
        reg = R.get(s, number)
        assert reg.status == "objected"
        assert [o.reason for o in R.objections_of(s, reg)] == ["该画像使用了我方提供的数据"]
    anon = client.post(f"/market/rights/{number}/object", data={"objector": "x", "reason": "匿名的异议理由"},
                       follow_redirects=False)
    assert anon.status_code in (303, 401, 403) and "/login" in anon.headers.get("location", "/login")
    with rt.transaction() as s:
        assert len(R.objections_of(s, R.get(s, number))) == 1


def test_the_exchange_works_the_queue_in_the_browser_pages(rt: Runtime, world: MarketWorld, client: Any,
                                                           token_for: Any) -> None:
    with rt.transaction() as s:
        number = R.apply(session=s, settings=rt.settings, actor=world.seller, data=RegistrationCreate(
            right=Right.HOLDING, subject="四川省企业年报数据", evidence=EVIDENCE)).number
    op, seller = token_for("exchange_op"), token_for("seller1")
    mine = client.get("/market/rights", headers=seller)
    assert mine.status_code == 200 and number in mine.text and "通过，进入公示" not in mine.text
    queue = client.get("/market/rights", headers=op)
    assert "通过，进入公示" in queue.text
    assert client.post(f"/market/rights/{number}/review", headers=seller, data={"approve": "1"},
                       follow_redirects=False).status_code == 403
    r = client.post(f"/market/rights/{number}/review", headers=op, data={"approve": "1"}, follow_redirects=False)
    assert r.status_code == 303
    client.post(f"/market/rights/{number}/object", headers=token_for("buyer1"),
                data={"objector": "测试数据企业2有限公司", "reason": "年报数据部分由我方整理"})
    with rt.transaction() as s:
        [objection] = R.objections_of(s, R.get(s, number))
    assert "年报数据部分由我方整理" in client.get("/market/rights", headers=op).text
    client.post(f"/market/rights/objections/{objection.id}/decide", headers=op,
                data={"uphold": "0", "decision": "未提供证明，驳回"})
    with rt.transaction() as s:
        assert R.get(s, number).status == "notice"
    early = client.post(f"/market/rights/{number}/conclude", headers=op, follow_redirects=False)
    assert early.status_code == 409  # the notice is still running
