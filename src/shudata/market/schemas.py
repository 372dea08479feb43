"""Request and response models of the market (``XCreate`` / ``XRead``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shudata.core.textsafe import CONTROL_MESSAGE, ControlCharacters, PlainText, holds_control_chars
from shudata.standards.uscc import is_valid_uscc

# What a participant acts as: 供方, 需方 and the 数商 service types.
PARTICIPANT_KINDS: dict[str, str] = {
    "seller": "供方",
    "buyer": "需方",
    "delivery_service": "数据交付服务商",
    "valuation_service": "数据评估服务商",
    "broker": "中介（经纪）服务商",
    "consulting": "咨询服务商",
    "other_service": "其他数商",
}
Kind = Literal["seller", "buyer", "delivery_service", "valuation_service", "broker", "consulting", "other_service"]
Grade = Literal["A", "B", "C"]
DOCUMENT_KINDS: dict[str, str] = {
    "business_licence": "营业执照",
    "qualification": "资质证书",
    "authorisation": "授权运营协议 / 授权书",
    "security_certificate": "数据安全能力证明",
    "other": "其他证明材料",
}
DocumentKind = Literal["business_licence", "qualification", "authorisation", "security_certificate", "other"]
DELIVERY_MODES: dict[str, str] = {"api": "在线 API / Delta Sharing", "file": "离线文件（带指纹）",
                                  "hosted": "托管计算（数据可用不可见）"}
DeliveryMode = Literal["api", "file", "hosted"]
RIGHTS: dict[str, str] = {"holding": "数据资源持有权", "processing": "数据加工使用权", "operating": "数据产品经营权"}
Right = Literal["holding", "processing", "operating"]


def _uscc(v: str) -> str:
    v = v.strip().upper()
    if not is_valid_uscc(v):
        raise ValueError("统一社会信用代码无效（长度、字符或校验位错误），请核对营业执照"
                         " / invalid unified social credit code")
    return v


class AccountCreate(BaseModel):
    """The first account of a registering enterprise (it logs in like any platform account)."""

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    email: str | None = Field(None, max_length=200)


class ParticipantCreate(BaseModel):
    """An application to trade (交易主体登记)."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText = Field(min_length=2, max_length=200, description="企业（机构）名称")
    uscc: str = Field(description="统一社会信用代码 (GB 32100)，校验位不对即拒绝")
    kinds: list[Kind] = Field(min_length=1, description="供方、需方或数商服务类型，可多选")
    legal_representative: PlainText = Field(min_length=1, max_length=100, description="法定代表人")
    contact_name: PlainText = Field(min_length=1, max_length=100)
    contact_phone: PlainText = Field(min_length=5, max_length=40)
    contact_email: str | None = Field(None, max_length=200)
    address: PlainText | None = Field(None, max_length=300)
    account: AccountCreate | None = Field(None, description="企业的首个账号（登录名、显示名称、密码），必填")

    @field_validator("uscc")
    @classmethod
    def _check_uscc(cls, v: str) -> str:
        return _uscc(v)

    @field_validator("kinds")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class DepartmentSellerCreate(BaseModel):
    """A department selling its public data under 授权运营 (registered by the exchange operator)."""

    model_config = ConfigDict(extra="forbid")

    department_id: int = Field(ge=1)
    authorisation: PlainText = Field(min_length=4, max_length=4000,
                                     description="授权运营依据（文件名称、文号、授权范围与期限）")
    legal_representative: PlainText = Field(min_length=1, max_length=100)
    contact_name: PlainText = Field(min_length=1, max_length=100)
    contact_phone: PlainText = Field(min_length=5, max_length=40)


class ReviewCreate(BaseModel):
    """An operator's decision on a participant."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "refuse", "suspend", "reinstate", "revoke", "grade"]
    grade: Grade | None = Field(None, description="评级 A/B/C（通过时必填，评级时必填）")
    reason: PlainText | None = Field(None, max_length=2000, description="不通过、暂停、撤销须说明理由")


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: dt.datetime


class ReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    decision: str
    from_status: str
    to_status: str
    grade: str | None
    reason: str | None
    actor: str
    created_at: dt.datetime


class ParticipantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    uscc: str
    entity_type: str
    department_id: int | None
    kinds: list[str]
    legal_representative: str
    contact_name: str
    contact_phone: str
    contact_email: str | None
    status: str
    grade: str | None
    reason: str | None
    authorisation: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    public_key: str | None = None
    documents: list[DocumentRead] = Field(default_factory=list)
    reviews: list[ReviewRead] = Field(default_factory=list)


class ParticipantBrief(BaseModel):
    """What anyone sees of a participant (on a product page): no contact details."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    entity_type: str
    kinds: list[str]
    status: str
    grade: str | None


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO text (for audit details and market events)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# -- products, listing, price plans ---------------------------------------------------------------

ProfileName = Literal["trade", "share-conditional", "open"]


class SourceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource: str = Field(min_length=1, max_length=64, description="目录资源代码、别名或 id")
    version: int | None = Field(None, ge=1, description="固定版本；不填为最新版本")


class ProductSheet(BaseModel):
    """产品说明书."""

    model_config = ConfigDict(extra="forbid")

    content: PlainText = Field(min_length=4, max_length=4000, description="数据内容")
    fields: list[PlainText] = Field(default_factory=list, max_length=500, description="字段（不填取目录信息项）")
    coverage: PlainText = Field("", max_length=1000, description="覆盖范围（地域、时间、对象）")
    update_cycle: PlainText = Field("", max_length=100, description="更新周期")
    scenarios: list[PlainText] = Field(default_factory=list, max_length=50, description="应用场景（无场景不交易）")
    restrictions: PlainText = Field("", max_length=2000, description="使用限制")
    fingerprint: dict[str, Any] | None = Field(None, description="离线文件指纹设置（关键列、各列容差）")
    release_rules: dict[str, Any] | None = Field(None, description="托管计算的结果释放规则（最小分组、差分隐私）")

    @field_validator("fingerprint", "release_rules")
    @classmethod
    def _plain(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        """Column names and settings typed in the sheet: no control characters either."""
        if holds_control_chars(v):
            raise ControlCharacters(CONTROL_MESSAGE)
        return v


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seller_id: int = Field(ge=1)
    name: PlainText = Field(min_length=2, max_length=200)
    category: PlainText = Field("", max_length=100)
    sources: list[SourceRef] = Field(min_length=1, max_length=20)
    sheet: ProductSheet
    delivery_modes: list[DeliveryMode] = Field(min_length=1)
    masking_profile: ProfileName = "trade"
    rights: list[Right] = Field(default_factory=list, description="卖方持有的数据权利")
    source_evidence: PlainText = Field("", max_length=4000, description="数据来源合法性说明")
    personal_authorisation: PlainText | None = Field(None, max_length=4000, description="个人信息处理的授权或法律依据")


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PlainText | None = Field(None, min_length=2, max_length=200)
    category: PlainText | None = Field(None, max_length=100)
    sheet: ProductSheet | None = None
    delivery_modes: list[DeliveryMode] | None = Field(None, min_length=1)
    masking_profile: ProfileName | None = None
    rights: list[Right] | None = None
    source_evidence: PlainText | None = Field(None, max_length=4000)
    personal_authorisation: PlainText | None = Field(None, max_length=4000)


class ListingDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "refuse"]
    reason: PlainText | None = Field(None, max_length=2000)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: PlainText = Field(min_length=2, max_length=2000)


PlanKind = Literal["one_off", "subscription", "metered", "private"]


class PlanCreate(BaseModel):
    """A price plan; amounts in fen (分)."""

    model_config = ConfigDict(extra="forbid")

    kind: PlanKind
    name: str = Field(min_length=1, max_length=200)
    price_fen: int = Field(ge=0, le=10**13, description="一次性价格 / 每期价格 / 计量单价（分）")
    period_days: int | None = Field(None, ge=1, le=3660)
    auto_renew: bool = False
    unit: Literal["call", "rows_1000"] | None = None
    free_units: int = Field(0, ge=0, le=10**12)
    monthly_cap_fen: int | None = Field(None, ge=0, le=10**13)
    buyer_id: int | None = Field(None, ge=1, description="定向报价的买方")
    valid_until: dt.datetime | None = None


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    kind: str
    name: str
    price_fen: int
    period_days: int | None
    auto_renew: bool
    unit: str | None
    free_units: int
    monthly_cap_fen: int | None
    buyer_id: int | None
    valid_until: dt.datetime | None
    is_active: bool


class ListingEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event: str
    from_status: str
    to_status: str
    reason: str | None
    actor: str
    created_at: dt.datetime


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    seller_id: int
    seller: ParticipantBrief | None = None
    category: str
    sheet: dict[str, Any]
    delivery_modes: list[str]
    masking_profile: str
    rights: list[str]
    source_evidence: str
    personal_authorisation: str | None
    contains_personal: bool
    sample: dict[str, Any]
    assessment: dict[str, Any]
    derivation: dict[str, Any] | None
    status: str
    listed_at: dt.datetime | None
    created_at: dt.datetime
    sources: list[dict[str, Any]] = Field(default_factory=list)
    plans: list[PlanRead] = Field(default_factory=list)
    history: list[ListingEventRead] = Field(default_factory=list)


# -- orders, contracts, settlement --------------------------------------------------------------------

class OrderCreate(BaseModel):
    """An inquiry (询价): a buyer asks for a listed product under one of its price plans."""

    model_config = ConfigDict(extra="forbid")

    buyer_id: int = Field(ge=1)
    product_id: int = Field(ge=1)
    plan_id: int = Field(ge=1)
    purpose: PlainText = Field(min_length=2, max_length=2000, description="用途 / 应用场景")
    delivery_mode: DeliveryMode
    term_days: int = Field(365, ge=1, le=3660, description="使用期限（天）")
    territory: str = Field("中华人民共和国境内", min_length=2, max_length=100, description="使用地域")
    broker_id: int | None = Field(None, ge=1, description="居间服务的数商（收取数商服务费）")
    message: PlainText = Field("", max_length=2000)


class OfferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_fen: int = Field(ge=0, le=10**13)
    note: PlainText = Field("", max_length=2000)


class OfferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    party: str
    price_fen: int
    note: str
    actor: str
    created_at: dt.datetime


class OrderEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event: str
    from_status: str
    to_status: str
    note: str | None
    actor: str
    created_at: dt.datetime


class SignatureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    party: str
    public_key: str
    signature: str
    signed_by: str
    signed_at: dt.datetime


class ContractRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    digest: str
    text: str
    terms: dict[str, Any]
    valid_from: dt.datetime
    valid_until: dt.datetime
    signatures: list[SignatureRead] = Field(default_factory=list)


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    product_id: int
    plan_id: int
    buyer_id: int
    seller_id: int
    broker_id: int | None
    status: str
    price_fen: int
    purpose: str
    territory: str
    term_days: int
    delivery_mode: str
    message: str
    reason: str | None
    accept_due_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    offers: list[OfferRead] = Field(default_factory=list)
    history: list[OrderEventRead] = Field(default_factory=list)
    contract: ContractRead | None = None


class PostingRead(BaseModel):
    account: str
    participant_id: int | None
    amount_fen: int


class JournalRead(BaseModel):
    id: int
    kind: str
    memo: str
    created_at: dt.datetime
    postings: list[PostingRead]


class BalanceRead(BaseModel):
    account: str
    participant_id: int | None
    balance_fen: int
