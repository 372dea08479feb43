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
    """交易所运营方登记按授权运营出售公共数据的部门（名称与代码取自部门），同样进入待审核；部门不存在或已登记即拒绝。"""
    return P.register_department_seller(session=session, actor=actor, data=data)


@router.get("/market/participants", summary="交易主体列表（运营方、监管）/ all participants")
def participants(session: SessionDep, actor: UserDep, status: str | None = None) -> list[ParticipantRead]:
    """全部交易主体（交易所运营方、监管），可按状态筛选，如 status=pending 为待审核队列；其他人无权查看。"""
    return P.list_participants(session=session, actor=actor, status=status)


@router.get("/market/participants/mine", summary="本人代表的交易主体 / my participants")
def my_participants(session: SessionDep, actor: UserDep) -> list[ParticipantRead]:
    """本人可代表的交易主体（所属企业，或本部门的授权运营主体）。"""
    return P.my_participants(session=session, actor=actor)


@router.get("/market/participants/{participant_id}", summary="交易主体 / a participant")
def participant(session: SessionDep, actor: ActorDep, participant_id: int) -> ParticipantRead | ParticipantBrief:
    """交易主体的完整信息（本主体成员及运营方、监管）；其他人只能看到已审核通过主体的公开简介，否则为不存在。"""
    return P.get_participant(session=session, actor=actor, participant_id=participant_id)


@router.post("/market/participants/{participant_id}/review", summary="审核交易主体 / review a participant")
def review(session: SessionDep, actor: UserDep, settings: SettingsDep, participant_id: int,
           data: ReviewCreate) -> ParticipantRead:
    """通过（须评级）、不通过（须理由）、暂停、恢复、撤销、评级。"""
    return P.review_participant(session=session, actor=actor, settings=settings, participant_id=participant_id,
                                data=data)


@router.post("/market/participants/{participant_id}/resubmit", summary="重新提交审核 / apply again")
def resubmit(session: SessionDep, actor: UserDep, participant_id: int) -> ParticipantRead:
    """未通过审核的交易主体补充材料后重新提交审核（本主体成员）；当前状态不允许即拒绝。"""
    return P.resubmit(session=session, actor=actor, participant_id=participant_id)


@router.post("/market/participants/{participant_id}/members", summary="添加成员账号 / add a member account")
def add_member(session: SessionDep, actor: UserDep, participant_id: int, data: MemberBody) -> ParticipantRead:
    """把另一个交易主体用户账号加入本主体（本主体成员）；部门主体无需添加、账号不存在或不是交易主体用户、
    账号已属于某个交易主体时拒绝。"""
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
    """下载解密后的资质文件（本主体成员及运营方、监管），每次下载计入审计；文件不属于该主体即为不存在。"""
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
    """供方新建数据产品（草稿），由目录资源组成（部门主体只能用本部门的资源）；主体未审核通过、
    不是供方或资源重复时拒绝。"""
    return PR.create_product(session=session, actor=actor, data=data)


@router.get("/market/products/{product_id}", summary="数据产品 / a product")
def product(session: SessionDep, actor: ActorDep, product_id: int) -> ProductRead:
    """已挂牌的产品任何人可看；其余状态的产品只对供方成员及运营方、监管可见，否则为不存在。"""
    return PR.get_product(session=session, actor=actor, product_id=product_id)


@router.patch("/market/products/{product_id}", summary="修改数据产品 / change a product")
def update_product(session: SessionDep, actor: UserDep, product_id: int, data: ProductUpdate) -> ProductRead:
    """供方修改草稿、未通过或已摘牌的产品；审核中或已挂牌的产品不能修改（请先摘牌）。"""
    return PR.update_product(session=session, actor=actor, product_id=product_id, data=data)


@router.post("/market/products/{product_id}/submit", summary="提交挂牌审核 / submit for listing")
def submit(session: SessionDep, actor: UserDep, settings: SettingsDep, product_id: int) -> ProductRead:
    """合规评估与质量评估；不合规（含“无场景不交易”）即拒绝并列出未满足的项目。"""
    return PR.submit_product(session=session, actor=actor, settings=settings, product_id=product_id)


@router.post("/market/products/{product_id}/review", summary="挂牌审核 / list or refuse")
def review_product(session: SessionDep, actor: UserDep, product_id: int, data: ListingDecision) -> ProductRead:
    """交易所运营方挂牌或不予挂牌（须说明理由）；供方未审核通过时不能挂牌，当前状态不允许即拒绝。"""
    return PR.review_product(session=session, actor=actor, product_id=product_id, data=data)


@router.post("/market/products/{product_id}/delist", summary="摘牌 / de-list")
def delist(session: SessionDep, actor: UserDep, product_id: int, data: ReasonBody) -> ProductRead:
    """供方或交易所运营方摘牌（须说明理由）；进行中的订单继续，不再接受新订单；重新挂牌须再次提交审核。"""
    return PR.delist_product(session=session, actor=actor, product_id=product_id, reason=data.reason)


@router.post("/market/products/{product_id}/plans", status_code=201, summary="新增价格方案 / add a price plan")
def create_plan(session: SessionDep, actor: UserDep, product_id: int, data: PlanCreate) -> PlanRead:
    """供方为产品新增价格方案：一次性、订阅（须给出周期）、按量计费（须给出单位，封顶不低于单价）
    或定向报价（须指定需方）；有效期已过等不合规的方案即拒绝。"""
    return PR.create_plan(session=session, actor=actor, product_id=product_id, data=data)


@router.post("/market/plans/{plan_id}/withdraw", summary="撤回价格方案 / withdraw a plan")
def withdraw_plan(session: SessionDep, actor: UserDep, plan_id: int) -> PlanRead:
    """供方撤回价格方案，此后不能再用它下单；方案不存在或非本供方即拒绝。"""
    return PR.withdraw_plan(session=session, actor=actor, plan_id=plan_id)


# -- orders, contracts, settlement -------------------------------------------------------------------

@router.get("/market/orders", summary="订单 / orders")
def orders(session: SessionDep, actor: UserDep, participant_id: int | None = None,
           status: str | None = None) -> list[OrderRead]:
    """某交易主体（本人代表的）的买入与卖出订单；不带 participant_id 时为全部（运营方、监管）。"""
    return O.list_orders(session=session, actor=actor, participant_id=participant_id, status=status)


@router.post("/market/orders", status_code=201, summary="询价 / open an order")
def create_order(session: SessionDep, actor: UserDep, data: OrderCreate) -> OrderRead:
    """需方询价开单（本主体成员）：主体未审核通过或不是需方、产品未挂牌或是本主体的、方案已撤回、
    过期或为他人的定向报价、交付方式不提供、含个人信息而需方不是 A 级时拒绝。"""
    return O.create_order(session=session, actor=actor, data=data)


@router.get("/market/orders/{order_id}", summary="订单 / an order")
def order(session: SessionDep, actor: UserDep, order_id: int) -> OrderRead:
    """订单详情（含报价、历史和合同；买卖双方成员及运营方、监管），其他人看到的是不存在。"""
    return O.get_order(session=session, actor=actor, order_id=order_id)


@router.post("/market/orders/{order_id}/offer", summary="报价、还价 / offer")
def offer(session: SessionDep, actor: UserDep, order_id: int, data: OfferCreate) -> OrderRead:
    """买方或卖方报价、还价，桌面价格随之变更；须等对方答复后再报价，当前状态不允许即拒绝。"""
    return O.offer(session=session, actor=actor, order_id=order_id, data=data)


@router.post("/market/orders/{order_id}/agree", summary="接受价格，生成合同 / agree")
def agree(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    """接受对方的最后报价（询价阶段由卖方接受挂牌价），生成待签署的合同；不能接受本方自己的报价。"""
    return O.agree(session=session, actor=actor, settings=settings, order_id=order_id)


@router.post("/market/orders/{order_id}/refuse", summary="卖方拒绝 / refuse")
def refuse(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    """卖方拒绝询价或议价（须说明理由）；只有卖方可以拒绝，当前状态不允许即拒绝。"""
    return O.refuse(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/terminate", summary="终止 / terminate")
def terminate(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    """买卖双方或交易所运营方在资金托管前终止订单（须说明理由）；托管之后不能终止。"""
    return O.terminate(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/sign", summary="SM2 签署合同 / sign the contract")
def sign(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    """以 SM2 签署合同：买方、卖方（本主体成员）或交易所（运营方，须在双方之后）；不在签署阶段、
    合同已过期或本方已签署时拒绝。"""
    return O.sign(session=session, actor=actor, settings=settings, order_id=order_id)


@router.get("/market/orders/{order_id}/contract", summary="合同文件（可离线验签）/ the contract file",
            response_class=Response)
def contract(session: SessionDep, actor: UserDep, order_id: int) -> Response:
    """下载自包含的合同文件（JSON，含三方签名，可离线验签；买卖双方及运营方、监管）；尚无合同即拒绝。"""
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
    """交易所运营方确认买方货款已进入托管并记账；三方未签齐或合同已过期时拒绝。"""
    return O.fund(session=session, actor=actor, order_id=order_id)


@router.post("/market/orders/{order_id}/deliver", summary="开始交付 / start delivery")
def deliver(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    """卖方（或交易所运营方）开始交付，开通所购的交付方式并起算验收期（工作日）；当前状态不允许即拒绝。"""
    return O.start_delivery(session=session, actor=actor, settings=settings, order_id=order_id)


@router.post("/market/orders/{order_id}/accept", summary="验收 / accept")
def accept(session: SessionDep, actor: UserDep, order_id: int) -> OrderRead:
    """买方验收交付中的订单；只有买方可以验收，验收期满未提出争议的订单将自动验收。"""
    return O.accept(session=session, actor=actor, order_id=order_id)


@router.post("/market/orders/{order_id}/dispute", summary="提出争议 / dispute")
def dispute(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    """买方对交付中的订单提出争议（须说明理由）；只有买方可以提出，当前状态不允许即拒绝。"""
    return O.dispute(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/resolve", summary="处理争议 / resolve a dispute")
def resolve(session: SessionDep, actor: UserDep, order_id: int, data: ResolveBody) -> OrderRead:
    """交易所运营方处理争议：认定交付合格（accept，视同验收）或退款（refund，托管资金退回买方）；
    订单没有待处理的争议时拒绝。"""
    return O.resolve(session=session, actor=actor, order_id=order_id, outcome=data.outcome, reason=data.reason)


@router.post("/market/orders/{order_id}/refund", summary="退款 / refund")
def refund(session: SessionDep, actor: UserDep, order_id: int, data: ReasonBody) -> OrderRead:
    """交易所运营方在交付前退还已托管的货款（如卖方无法交付，须说明理由）；当前状态不允许即拒绝。"""
    return O.refund(session=session, actor=actor, order_id=order_id, reason=data.reason)


@router.post("/market/orders/{order_id}/settle", summary="结算 / settle")
def settle(session: SessionDep, actor: UserDep, settings: SettingsDep, order_id: int) -> OrderRead:
    """交易所运营方结算已验收的订单：托管资金付给卖方，扣除交易所及数商服务费；当前状态不允许即拒绝。"""
    return O.settle(session=session, actor=actor, settings=settings, order_id=order_id)


@router.post("/market/orders/{order_id}/close", summary="关闭 / close")
def close(session: SessionDep, actor: UserDep, order_id: int) -> OrderRead:
    """交易所运营方关闭已结算或已退款的订单（托管余额须为零）；当前状态不允许即拒绝。"""
    return O.close(session=session, actor=actor, order_id=order_id)


@router.get("/market/orders/{order_id}/journals", summary="订单的记账分录 / the order's journal entries")
def order_journals(session: SessionDep, actor: UserDep, order_id: int) -> list[JournalRead]:
    """订单的记账分录（托管、结算、退款；买卖双方及运营方、监管）。"""
    return O.order_journals(session=session, actor=actor, order_id=order_id)


@router.get("/market/settlement", summary="账户余额与对账 / balances and reconciliation")
def balances(session: SessionDep, actor: UserDep) -> dict[str, Any]:
    """每个账户的余额；全部分录借贷相抵、余额合计为零。"""
    return O.books(session=session, actor=actor)
