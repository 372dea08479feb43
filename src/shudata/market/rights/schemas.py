"""Input of the rights registration use cases (Pydantic), with Chinese messages."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shudata.core.textsafe import PlainText
from shudata.market.rights.states import ON_TARGET, RegistrationType, Right


class Evidence(BaseModel):
    """A document shown as evidence: its name, the SM3 (or SHA-256) digest of its bytes, a note."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    digest: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    note: str = Field("", max_length=500)
    document_id: int | None = None  # a qualification document already stored with the participant


class RegistrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    right: Right
    reg_type: RegistrationType = RegistrationType.INITIAL
    applicant_id: int | None = None  # default: the participant the applicant account belongs to
    subject: str = Field("", max_length=300)
    description: str = Field("", max_length=5000)
    product_id: int | None = None
    target_number: str | None = Field(None, max_length=40)  # the certificate acted on
    counterparty_id: int | None = None  # 被许可方 / 受让方
    scope: str | None = Field(None, max_length=2000)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)

    @field_validator("subject", "description")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @model_validator(mode="after")
    def _consistent(self) -> RegistrationCreate:
        if self.reg_type in ON_TARGET and not self.target_number:
            raise ValueError("该登记类型须指明所涉登记证书编号（target_number）")
        if self.reg_type == RegistrationType.INITIAL:
            if not self.subject:
                raise ValueError("首次登记须填写登记对象（subject）")
            if not self.evidence:
                raise ValueError("首次登记须提交至少一份证明材料（数据来源、采集或生产的合法性证明）")
        if self.reg_type in (RegistrationType.LICENCE, RegistrationType.TRANSFER) and not self.counterparty_id:
            raise ValueError("许可登记与转移登记须指明被许可方或受让方（counterparty_id）")
        if self.reg_type == RegistrationType.LICENCE and not self.scope:
            raise ValueError("许可登记须写明许可范围（scope）")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("有效期的结束日期不能早于开始日期")
        return self


class ObjectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objector: PlainText = Field(min_length=1, max_length=200)
    reason: PlainText = Field(min_length=5, max_length=5000)
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)
