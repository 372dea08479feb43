"""Market events: what the market tells the rest of the platform (the ledger, the delivery package)
through the ``market_event`` hook, one per decision or transition.

``kind`` is stable and dotted (``participant.approve``, ``product.list``, ``order.fund`` …, listed
in :data:`KINDS`); ``subject`` names what it is about (``participant:3``, ``order:O-2026…``);
``data`` is plain JSON (ids, amounts in fen, statuses), never personal data of a data product.

>>> e = MarketEvent(kind="order.fund", subject="order:MO-1", actor="buyer1", data={"amount_fen": 100})
>>> e.canonical()
'{"actor":"buyer1","at":null,"data":{"amount_fen":100},"kind":"order.fund","subject":"order:MO-1"}'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shudata.core.plugins import plugins_of

KINDS: dict[str, str] = {
    "participant.register": "交易主体提交登记",
    "participant.approve": "交易主体审核通过",
    "participant.refuse": "交易主体审核不通过",
    "participant.suspend": "交易主体被暂停",
    "participant.reinstate": "交易主体恢复",
    "participant.revoke": "交易主体资格被撤销",
    "participant.grade": "交易主体评级",
    "product.submit": "数据产品提交挂牌审核",
    "product.list": "数据产品挂牌",
    "product.refuse": "数据产品挂牌审核不通过",
    "product.delist": "数据产品摘牌",
    "product.upload": "供方上传数据",
    "product.derive": "生成脱敏衍生数据",
    "product.stale": "脱敏衍生数据的源数据更新，暂停交易",
    "plan.create": "发布价格方案",
    "order.inquire": "询价",
    "order.offer": "报价 / 还价",
    "order.agree": "议价达成",
    "order.refuse": "拒绝订单",
    "order.contract": "生成合同",
    "order.sign": "合同签署",
    "order.fund": "托管资金到账",
    "order.deliver": "开始交付",
    "order.accept": "验收通过",
    "order.auto_accept": "超期自动验收",
    "order.dispute": "提出争议",
    "order.settle": "结算",
    "order.refund": "退款",
    "order.terminate": "终止",
    "order.close": "关闭",
    "delivery.entitle": "开通交付授权",
    "delivery.api": "在线接口交付",
    "delivery.sharing": "在线交付（Delta Sharing 读取）",
    "delivery.sharing.profile": "下载 Delta Sharing 配置文件",
    "delivery.file": "离线文件交付（带指纹）",
    "delivery.hosted": "托管计算结果发布",
    "delivery.trace": "泄露溯源",
}


@dataclass(frozen=True)
class MarketEvent:
    """One market event (see the module docstring)."""

    kind: str
    subject: str
    actor: str
    data: Mapping[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown market event kind {self.kind!r}")

    def canonical(self) -> str:
        """The event as canonical JSON (sorted keys, no spaces): what a ledger hashes."""
        body = {"kind": self.kind, "subject": self.subject, "actor": self.actor, "data": dict(self.data),
                "at": self.at.isoformat() if self.at else None}
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def emit(session: Session, event: MarketEvent) -> None:
    """Tell every ``market_event`` implementation (the market ledger) about ``event``."""
    plugins_of(session).hook.market_event(session=session, event=event)
