"""``/api/v1/market``: participants (交易主体), products and listing (挂牌), price plans, orders,
contracts and settlement — the same services as ``shudata market …``. Amounts are in fen (分)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shudata.market import orders as O
from shudata.market import participants as P
from shudata.market import products as PR
from shudata.market.schemas import (
    DepartmentSellerCreate,
    DocumentRead,
    JournalRead,
    ListingDecision,
    OfferCreate,
    OrderCreate,
    OrderRead,
    ParticipantBrief,
    ParticipantCreate,
    ParticipantRead,
    PlanCreate,
    PlanRead,
    ProductCreate,
    ProductRead,
    ProductUpdate,
    ReasonBody,
    ReviewCreate,
)
from shudata.web.deps import ActorDep, SessionDep, SettingsDep, UserDep

router = APIRouter(tags=["market"])


class ResolveBody(BaseModel):
    outcome: Literal["accept", "refund"]
    reason: str = Field(min_length=2, max_length=2000)


class MemberBody(BaseModel):
    username: str = Field(min_length=2, max_length=64)


# -- participants -------------------------------------------------------------------------------------

@router.post("/market/participants", status_code=201, summary="交易主体登记 / register a participant")
def register(session: SessionDep, actor: ActorDep, settings: SettingsDep, data: ParticipantCreate) -> ParticipantRead:
    """企业登记为交易主体并创建首个账号（统一社会信用代码校验位不对即拒绝），进入待审核。"""
    return P.register_participant(session=session, actor=actor, settings=settings, data=data)


@router.post("/market/participants/department", status_code=201,
             summary="登记授权运营的部门供方 / register a department seller")
def register_department(session: SessionDep, actor: UserDep, data: DepartmentSellerCreate) -> ParticipantRead:
    return P.register_department_seller(session=session, actor=actor, data=data)


@router.get("/market/participants", summary="交易主体列表（运营方、监管）/ all participants")
def participants(session: SessionDep, actor: UserDep, status: str | None = None) -> list[ParticipantRead]:
    return P.list_participants(session=session, actor=actor, status=status)


@router.get("/market/participants/mine", summary="本人代表的交易主体 / my participants")
def my_participants(session: SessionDep, actor: UserDep) -> list[ParticipantRead]:
    return P.my_participants(session=session, actor=actor)


@router.get("/market/participants/{participant_id}", summary="交易主体 / a participant")
def participant(session: SessionDep, actor: ActorDep, participant_id: int) -> ParticipantRead | ParticipantBrief:
    return P.get_participant(session=session, actor=actor, participant_id=participant_id)


@router.post("/market/participants/{participant_id}/review", summary="审核交易主体 / review a participant")
def review(session: SessionDep, actor: UserDep, settings: SettingsDep, participant_id: int,
           data: ReviewCreate) -> ParticipantRead:
    """通过（须评级）、不通过（须理由）、暂停、恢复、撤销、评级。"""
    return P.review_participant(session=session, actor=actor, settings=settings, participant_id=participant_id,
                                data=data)


@router.post("/market/participants/{participant_id}/resubmit", summary="重新提交审核 / apply again")
def resubmit(session: SessionDep, actor: UserDep, participant_id: int) -> ParticipantRead:
    return P.resubmit(session=session, actor=actor, participant_id=participant_id)


@router.post("/market/participants/{participant_id}/members", summary="添加成员账号 / add a member account")
def add_member(session: SessionDep, actor: UserDep, participant_id: int, data: MemberBody) -> ParticipantRead:
    return P.add_member(session=session, actor=actor, participant_id=participant_id, username=data.username)


@router.post("/market/participants/{participant_id}/documents", status_code=201,
             summary="上传资质文件 / upload a qualification document")
async def upload_document(session: SessionDep, actor: UserDep, settings: SettingsDep, participant_id: int,
                          kind: str = Form(..., description="business_licence、qualification、authorisation …"),
                          file: UploadFile = File(...)) -> DocumentRead:
    """PDF、PNG、JPEG 或 OFD（按内容识别），加密保存。"""
    content = await file.read(settings.market_document_max_mb * 1024 * 1024 + 1)
    return P.upload_document(session=session, actor=actor, settings=settings, participant_id=participant_id,
                             kind=kind, filename=file.filename or "document", content=content)


@router.get("/market/participants/{participant_id}/documents/{document_id}",
            summary="下载资质文件 / a qualification document", response_class=Response)
def document(session: SessionDep, actor: UserDep, settings: SettingsDep, participant_id: int,
             document_id: int) -> Response:
    doc, content = P.read_document(session=session, actor=actor, settings=settings, participant_id=participant_id,
                                   document_id=document_id)
    return Response(content, media_type=doc.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename)}"})


# -- products, listing, plans ------------------------------------------------------------------------

@router.get("/market/products", summary="数据产品 / data products")
def products(session: SessionDep, actor: ActorDep, status: str | None = None, seller_id: int | None = None,
             q: str | None = None, category: str | None = None) -> list[ProductRead]:
    """已挂牌的产品（任何人）；供方与运营方、监管可按状态查看其余。"""
    return PR.list_products(session=session, actor=actor, status=status, seller_id=seller_id, q=q, category=category)


@router.post("/market/products", status_code=201, summary="新建数据产品（草稿）/ create a product")
def create_product(session: SessionDep, actor: UserDep, data: ProductCreate) -> ProductRead:
    return PR.create_product(session=session, actor=actor, data=data)


@router.get("/market/products/{product_id}", summary="数据产品 / a product")
def product(session: SessionDep, actor: ActorDep, product_id: int) -> ProductRead:
    return PR.get_product(session=session, actor=actor, product_id=product_id)


@router.patch("/market/products/{product_id}", summary="修改数据产品 / change a product")
def update_product(session: SessionDep, actor: UserDep, product_id: int, data: ProductUpdate) -> ProductRead:
    return PR.update_product(session=session, actor=actor, product_id=product_id, data=data)


@router.post("/market/products/{product_id}/submit", summary="提交挂牌审核 / submit for listing")
def submit(session: SessionDep, actor: UserDep, settings: SettingsDep, product_id: int) -> ProductRead:
    """合规评估与质量评估；不合规（含“无场景不交易”）即拒绝并列出未满足的项目。"""
    return PR.submit_product(session=session, actor=actor, settings=settings, product_id=product_id)


@router.post("/market/products/{product_id}/review", summary="挂牌审核 / list or refuse")
def review_product(session: SessionDep, actor: UserDep, product_id: int, data: ListingDecision) -> ProductRead:
    return PR.review_product(session=session, actor=actor, product_id=product_id, data=data)


@router.post("/market/products/{product_id}/delist", summary="摘牌 / de-list")
def delist(session: SessionDep, actor: UserDep, product_id: int, data: ReasonBody) -> ProductRead:
    return PR.delist_product(session=session, actor=actor, product_id=product_id, reason=data.reason)


@router.post("/market/products/{product_id}/plans", status_code=201, summary="新增价格方案 / add a price plan")
def create_plan(session: SessionDep, actor: UserDep, product_id: int, data: PlanCreate) -> PlanRead:
    return PR.create_plan(session=session, actor=actor, product_id=product_id, data=data)


@router.post("/market/plans/{plan_id}/withdraw", summary="撤回价格方案 / withdraw a plan")
def withdraw_plan(session: SessionDep, actor: UserDep, plan_id: int) -> PlanRead:
    return PR.withdraw_plan(session=session, actor=actor, plan_id=plan_id)


# -- orders, contracts, settlement -------------------------------------------------------------------

@router.get("/market/orders", summary="订单 / orders")
def orders(session: SessionDep, actor: UserDep, participant_id: int | None = None,
           status: str | None = None) -> list[OrderRead]:
    """某交易主体（本人代表的）的买入与卖出订单；不带 participant_id 时为全部（运营方、监管）。"""
    return O.list_orders(session=session, actor=actor, participant_id=participant_id, status=status)


@router.post("/market/orders", status_code=201, summary="询价 / open an order")
def create_order(session: SessionDep, actor: UserDep, data: OrderCreate) -> OrderRead:
    return O.create_order(session=session, actor=actor, data=data)


@router.get("/market/orders/{order_id}", summary="订单 / an order")
def order(session: SessionDep, actor: UserDep, order_id: int) -> OrderRead:
    return O.get_order(session=session, actor=actor, order_id=order_id)


@router.post("/market/orders/{order_id}/offer", summary="报价、还价 / offer")
def offer(session: SessionDep, actor: UserDep, order_id: int, data: OfferCreate) -> OrderRead:
    return O.offer(session=session, actor=actor, order_id=order_id, data=data)


@router.post("/market/orders/{order_id}/agree", summary="接受价格，生成合同 / agree")
def agree(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    return O.agree(session=session, actor=actor, settings=settings, order_id=order_id)


@router.post("/market/orders/{order_id}/refuse", summary="卖方拒绝 / refuse")
def refuse(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    return O.refuse(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/terminate", summary="终止 / terminate")
def terminate(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    return O.terminate(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/sign", summary="SM2 签署合同 / sign the contract")
def sign(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    return O.sign(session=session, actor=actor, settings=settings, order_id=order_id)


@router.get("/market/orders/{order_id}/contract", summary="合同文件（可离线验签）/ the contract file",
            response_class=Response)
def contract(session: SessionDep, actor: UserDep, order_id: int) -> Response:
    name, content = O.contract_file(session=session, actor=actor, order_id=order_id)
    return Response(content, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/market/contracts/verify", summary="验证合同文件的三方签名 / verify a contract file")
def verify_contract(session: SessionDep, actor: ActorDep, settings: SettingsDep,
                    doc: dict[str, Any]) -> dict[str, Any]:
    """任何持有合同文件的人都可验证买方、卖方和交易所的 SM2 签名。"""
    return O.verify_contract(session=session, actor=actor, settings=settings, doc=doc)


@router.post("/market/orders/{order_id}/fund", summary="确认托管资金到账 / book escrow")
def fund(session: SessionDep, actor: UserDep, order_id: int) -> OrderRead:
    return O.fund(session=session, actor=actor, order_id=order_id)


@router.post("/market/orders/{order_id}/deliver", summary="开始交付 / start delivery")
def deliver(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    return O.start_delivery(session=session, actor=actor, settings=settings, order_id=order_id)


@router.post("/market/orders/{order_id}/accept", summary="验收 / accept")
def accept(session: SessionDep, actor: UserDep, order_id: int) -> OrderRead:
    return O.accept(session=session, actor=actor, order_id=order_id)


@router.post("/market/orders/{order_id}/dispute", summary="提出争议 / dispute")
def dispute(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    return O.dispute(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/resolve", summary="处理争议 / resolve a dispute")
def resolve(session: SessionDep, actor: UserDep, order_id: int, data: ResolveBody) -> OrderRead:
    return O.resolve(session=session, actor=actor, order_id=order_id, outcome=data.outcome, reason=data.reason)


@router.post("/market/orders/{order_id}/refund", summary="退款 / refund")
def refund(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    return O.refund(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/settle", summary="结算 / settle")
def settle(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    return O.settle(session=session, actor=actor, settings=settings, order_id=order_id)


@router.post("/market/orders/{order_id}/close", summary="关闭 / close")
def close(session: SessionDep, actor: UserDep, order_id: int) -> OrderRead:
    return O.close(session=session, actor=actor, order_id=order_id)


@router.get("/market/orders/{order_id}/journals", summary="订单的记账分录 / the order's journal entries")
def order_journals(session: SessionDep, actor: UserDep, order_id: int) -> list[JournalRead]:
    return O.order_journals(session=session, actor=actor, order_id=order_id)


@router.get("/market/settlement", summary="账户余额与对账 / balances and reconciliation")
def balances(session: SessionDep, actor: UserDep) -> dict[str, Any]:
    """每个账户的余额；全部分录借贷相抵、余额合计为零。"""
    return O.books(session=session, actor=actor)
