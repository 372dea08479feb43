"""The market part of the demo: the exchange operator ``exchange``, a regulator ``regulator``, two
approved enterprises (the seller 天府数据科技, the buyer 蜀信征信服务) with their accounts, 省统计局 as a
seller of public data under 授权运营, its listed product over the provincial GDP entry with a one-off
plan, and one order taken through negotiation, three SM2 signatures, escrow, delivery, acceptance,
settlement and closing; a second order delivered as the buyer's fingerprinted file (离线交付) and
settled, a third delivering as hosted computation (托管) with one released job; the seller's valuation
of the product (cost and income approaches); a 数据资源持有权 registration concluded with its signed
certificate, and a 数据产品经营权 registration in its public notice period; 天府数据's own upload (generated
citizens) as a draft product and its k-anonymised derivative, listed. Idempotent: nothing is made twice.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.csv as pacsv
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.access import find_resource
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.demo.entries import persons
from shudata.lake.service import latest_version
from shudata.market import derivatives, uploads
from shudata.market import orders as O
from shudata.market import products as PR
from shudata.market.delivery import service as delivery
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.derivatives import DerivativeCreate
from shudata.market.models import MarketParticipant
from shudata.market.participants import register_department_seller, register_participant, review_participant
from shudata.market.rights import service as rights
from shudata.market.rights.schemas import Evidence, RegistrationCreate
from shudata.market.rights.states import Right
from shudata.market.schemas import (
    AccountCreate,
    DepartmentSellerCreate,
    ListingDecision,
    OfferCreate,
    OrderCreate,
    ParticipantCreate,
    PlanCreate,
    ProductCreate,
    ProductSheet,
    ProductUpdate,
    ReviewCreate,
    SourceRef,
)
from shudata.market.valuation import service as valuation
from shudata.privacy.schemas import HierarchyChoice
from shudata.security.models import Department, User
from shudata.security.schemas import UserCreate
from shudata.security.service import actor_for, create_user
from shudata.standards.uscc import complete

PASSWORD = "Shudata@market1"  # printed with the demo's other accounts in docs/market.md; change before real use
GDP = "201001/000001"
SELLER_DEPT = "省统计局"
ENTERPRISES = (  # name, code, kinds, grade, account
    ("四川天府数据科技有限公司", complete("91510100MA6CB8A1K"), ["seller", "broker"], "A", "tianfu_data"),
    ("四川蜀信征信服务有限公司", complete("91510100MA6CB8A2L"), ["buyer"], "A", "shuxin_credit"),
)
OPERATORS = (("exchange", "交易所运营方", Role.MARKET_OPERATOR), ("regulator", "数据交易监管", Role.REGULATOR))


def applies(codes: set[str]) -> bool:
    return GDP in codes


def _actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise RuntimeError(f"demo account {username} is missing")
    return actor_for(user)


def load_market(session: Session, settings: Settings) -> bool:
    """Load the market demo unless it is there (or the GDP entry has no data); True when loaded."""
    if session.scalar(select(MarketParticipant.id).where(MarketParticipant.name == ENTERPRISES[0][0])) is not None:
        return False
    dept = session.scalar(select(Department).where(Department.name == SELLER_DEPT))
    steward_row = session.scalar(select(User).where(User.username == "tjj_steward"))
    if dept is None or steward_row is None:
        return False
    system = Actor.system()
    for username, display, role in OPERATORS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session=session, actor=system, settings=settings, data=UserCreate(
                username=username, display_name=display, password=PASSWORD, roles=[role]))
    op = _actor(session, "exchange")
    ids: dict[str, int] = {}
    for name, code, kinds, grade, username in ENTERPRISES:
        p = register_participant(session=session, actor=Actor.anonymous(), settings=settings, data=ParticipantCreate(
            name=name, uscc=code, kinds=kinds, legal_representative="张明", contact_name="李华",
            contact_phone="028-85550000", address="四川省成都市高新区天府大道",
            account=AccountCreate(username=username, display_name=name, password=PASSWORD)))
        review_participant(session=session, actor=op, settings=settings, participant_id=p.id,
                           data=ReviewCreate(decision="approve", grade=grade))
        ids[username] = p.id
    seller = register_department_seller(session=session, actor=op, data=DepartmentSellerCreate(
        department_id=dept.id, authorisation="《四川省公共数据授权运营管理办法》：省统计局统计公报数据授权运营（演示）",
        legal_representative="王强", contact_name="陈静", contact_phone="028-86710000"))
    review_participant(session=session, actor=op, settings=settings, participant_id=seller.id,
                       data=ReviewCreate(decision="approve", grade="A"))
    steward = actor_for(steward_row)
    if latest_version(session, find_resource(session, GDP).id) is None:
        return True
    product = PR.create_product(session=session, actor=steward, data=ProductCreate(
        seller_id=seller.id, name="四川省分省地区生产总值（授权运营）", category="经济运行",
        sources=[SourceRef(resource=GDP)],
        sheet=ProductSheet(content="全国各省（区、市）逐年地区生产总值，国家统计局分省年度数据",
                           coverage="全国 31 个省（区、市）",
                           update_cycle="每年", scenarios=["区域经济研究", "招商选址分析", "信用评估模型的宏观变量"],
                           restrictions="不得转售；引用须注明来源",
                           # 地区 identifies a row; each year's value may move by at most 0.01 亿元
                           fingerprint={"key_columns": ["地区"],
                                        "columns": {f"{y}年": 0.01 for y in range(2006, 2025)}},
                           release_rules={"min_group_size": 5}),
        delivery_modes=["api", "file", "hosted"], rights=["holding", "operating"],
        source_evidence="国家统计局公开发布的分省年度数据，省统计局依授权运营协议提供"))
    plan = PR.create_plan(session=session, actor=steward, product_id=product.id, data=PlanCreate(
        kind="one_off", name="一次性购买（一年使用权）", price_fen=5_000_000))
    PR.create_plan(session=session, actor=steward, product_id=product.id, data=PlanCreate(
        kind="metered", name="按次调用", price_fen=50, unit="call", free_units=100, monthly_cap_fen=2_000_000))
    PR.submit_product(session=session, actor=steward, settings=settings, product_id=product.id)
    PR.review_product(session=session, actor=op, product_id=product.id, data=ListingDecision(decision="approve"))
    buyer = _actor(session, "shuxin_credit")
    order = O.create_order(session=session, actor=buyer, data=OrderCreate(
        buyer_id=ids["shuxin_credit"], product_id=product.id, plan_id=plan.id, purpose="企业信用评估模型的宏观经济变量",
        delivery_mode="api", broker_id=ids["tianfu_data"], message="希望以 4 万元成交"))
    O.offer(session=session, actor=buyer, order_id=order.id, data=OfferCreate(price_fen=4_000_000, note="年度预算"))
    O.offer(session=session, actor=steward, order_id=order.id, data=OfferCreate(price_fen=4_500_000))
    O.agree(session=session, actor=buyer, settings=settings, order_id=order.id)
    for who in (buyer, steward, op):
        O.sign(session=session, actor=who, settings=settings, order_id=order.id)
    O.fund(session=session, actor=op, order_id=order.id)
    O.start_delivery(session=session, actor=steward, settings=settings, order_id=order.id)
    O.accept(session=session, actor=buyer, order_id=order.id)
    O.settle(session=session, actor=op, settings=settings, order_id=order.id)
    O.close(session=session, actor=op, order_id=order.id)
    ctx = _Trade(session, settings, op, steward, buyer, ids["shuxin_credit"], product.id, plan.id)
    file_order = _bought(ctx, "file", "招商选址模型的离线分析（文件交付，带买方指纹）")
    ent = _entitlement(session, file_order)
    delivery.deliver_file(session=session, settings=settings, actor=buyer, entitlement_id=ent, fmt="csv")
    O.accept(session=session, actor=buyer, order_id=file_order)
    O.settle(session=session, actor=op, settings=settings, order_id=file_order)
    hosted_order = _bought(ctx, "hosted", "区域经济研究（托管计算，数据可用不可见）")
    delivery.run_job(session=session, settings=settings, actor=buyer,
                     entitlement_id=_entitlement(session, hosted_order),
                     sql='SELECT COUNT(*) AS 省份数, ROUND(AVG("2024年"), 2) AS 平均地区生产总值 FROM product')
    valuation.value_product(session=session, settings=settings, actor=steward, product_id=product.id,
                            data=valuation.ValuationCreate(
                                cost=valuation.CostIn(preliminary=200_000, direct=1_200_000, indirect=300_000,
                                                      taxes=60_000, factors={"应用系数": 1.1}),
                                income=valuation.IncomeIn(incomes=[900_000, 1_000_000, 1_100_000],
                                                          discount_rate=0.12, share=0.4),
                                conclusion="cost"))
    held = rights.apply(session=session, settings=settings, actor=steward, data=RegistrationCreate(
        right=Right.HOLDING, applicant_id=seller.id, product_id=product.id, subject="分省地区生产总值数据资源",
        description="省统计局汇集的国家统计局分省年度数据，申请数据资源持有权首次登记（演示）",
        evidence=[Evidence(name="数据来源说明（演示）", digest="b" * 64, note="来源说明的 SM3 摘要")]))
    held = rights.review(session=session, settings=settings, actor=op, number=held.number, approve=True,
                         note="材料齐全，进入公示")
    if held.notice_end is not None:  # the notice of this one is over (as if filed weeks ago): certificate issued
        rights.conclude(session=session, settings=settings, actor=op, number=held.number,
                        on=held.notice_end + dt.timedelta(days=1))
    reg = rights.apply(session=session, settings=settings, actor=steward, data=RegistrationCreate(
        right=Right.OPERATING, applicant_id=seller.id, product_id=product.id, subject=product.name,
        description="省统计局依授权运营协议，对分省地区生产总值数据产品申请数据产品经营权首次登记（演示）",
        evidence=[Evidence(name="公共数据授权运营协议（演示）", digest="a" * 64, note="协议文本的 SM3 摘要")]))
    rights.review(session=session, settings=settings, actor=op, number=reg.number, approve=True,
                  note="材料齐全，进入公示")
    _seller_data(session, settings, op, _actor(session, "tianfu_data"), ids["tianfu_data"])
    return True


UPLOAD_COLUMNS = ["公民身份号码", "姓名", "性别", "出生日期", "行政区划代码", "婚姻状况", "文化程度", "联系电话"]
UPLOAD_ROWS = 600
UPLOAD_NAME = "四川居民基本信息样本（供方上传）"
DERIVED_NAME = "四川居民人口结构（k=5 匿名化）"


def _seller_data(session: Session, settings: Settings, op: Actor, seller: Actor, seller_id: int) -> None:
    """天府数据 uploads its own file (the demo's generated citizens: ID numbers, names, mobiles) as a draft
    product, and lists a k-anonymised derivative of it (k=5 over sex, birth date and region)."""
    table = persons().slice(0, UPLOAD_ROWS).select(UPLOAD_COLUMNS)
    folder = Path(settings.data_dir) / "tmp" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tianfu_citizens.csv"
    pacsv.write_csv(table, path)
    try:
        upload = uploads.upload_product(session=session, actor=seller, settings=settings, seller_id=seller_id,
                                        name=UPLOAD_NAME, path=path, filename="居民基本信息样本.csv",
                                        category="人口", content="四川省居民基本信息样本（演示生成数据）")
    finally:
        path.unlink(missing_ok=True)
    PR.update_product(session=session, actor=seller, product_id=upload.id, data=ProductUpdate(
        sheet=ProductSheet(content="四川省居民基本信息样本（演示生成数据）", coverage="四川省", update_cycle="每季度",
                           scenarios=["人口结构研究", "公共服务规划"], restrictions="不得尝试识别个人；不得转售"),
        source_evidence="本公司业务中依法收集，经本人单独同意（演示）",
        personal_authorisation="个人信息主体单独同意，可向第三方提供脱敏后的统计数据（演示）"))
    derived = derivatives.create_derivative(session=session, actor=seller, settings=settings, data=DerivativeCreate(
        source_product_id=upload.id, name=DERIVED_NAME, quasi_identifiers=["性别", "出生日期", "行政区划代码"], k=5,
        suppression=0.05, hierarchies={"出生日期": HierarchyChoice(kind="dates"),
                                       "行政区划代码": HierarchyChoice(kind="regions")}))
    PR.create_plan(session=session, actor=seller, product_id=derived.id, data=PlanCreate(
        kind="one_off", name="一次性购买（一年使用权）", price_fen=2_000_000))
    PR.submit_product(session=session, actor=seller, settings=settings, product_id=derived.id)
    PR.review_product(session=session, actor=op, product_id=derived.id, data=ListingDecision(decision="approve"))


class _Trade:
    """Who and what the demo's further orders share."""

    def __init__(self, session: Session, settings: Settings, op: Actor, seller: Actor, buyer: Actor, buyer_id: int,
                 product_id: int, plan_id: int) -> None:
        self.session, self.settings, self.op, self.seller, self.buyer = session, settings, op, seller, buyer
        self.buyer_id, self.product_id, self.plan_id = buyer_id, product_id, plan_id


def _bought(t: _Trade, mode: str, purpose: str) -> int:
    """An order at the list price, signed by the three parties, funded and delivering; its id."""
    order = O.create_order(session=t.session, actor=t.buyer, data=OrderCreate(
        buyer_id=t.buyer_id, product_id=t.product_id, plan_id=t.plan_id, purpose=purpose, delivery_mode=mode))
    O.agree(session=t.session, actor=t.seller, settings=t.settings, order_id=order.id)  # the list price
    for who in (t.buyer, t.seller, t.op):
        O.sign(session=t.session, actor=who, settings=t.settings, order_id=order.id)
    O.fund(session=t.session, actor=t.op, order_id=order.id)
    O.start_delivery(session=t.session, actor=t.seller, settings=t.settings, order_id=order.id)
    return order.id


def _entitlement(session: Session, order_id: int) -> int:
    ent = session.scalar(select(MarketEntitlement.id).where(MarketEntitlement.order_id == order_id))
    if ent is None:
        raise RuntimeError(f"order {order_id} opened no entitlement")
    return ent
