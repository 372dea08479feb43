"""The market's workflows as transition tables: participants, product listings and orders.

Participants (交易主体): ``pending`` → ``approved`` | ``refused``; ``approved`` ⇄ ``suspended``;
``approved`` | ``suspended`` → ``revoked`` (final); a refused applicant may ``resubmit``.

Products (挂牌): ``draft`` → ``reviewing`` → ``listed`` | ``refused``; ``listed`` → ``delisted``;
a refused or de-listed product is submitted again (re-listing is reviewed like a first listing).

Orders: ``inquiry`` (询价) → ``negotiation`` (报价、还价) → ``contract`` (合同待签/已签) →
``escrow_funded`` (托管资金到账) → ``delivering`` → ``accepted`` (验收, or automatically after the
working days allowed) → ``settled`` → ``closed``; branches ``refused`` (the seller declines),
``terminated`` (either party withdraws, or the contract expires before funding), ``disputed``
(the buyer contests the delivery) and ``refunded`` (escrow back to the buyer).

>>> ORDERS.next("inquiry", OrderEvent.OFFER)
<OrderStatus.NEGOTIATION: 'negotiation'>
>>> ORDERS.next("delivering", OrderEvent.AUTO_ACCEPT)
<OrderStatus.ACCEPTED: 'accepted'>
>>> ORDERS.can("settled", OrderEvent.REFUND)
False
"""

from __future__ import annotations

from enum import StrEnum

from shudata.core.states import Machine


class ParticipantStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class ParticipantEvent(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    RESUBMIT = "resubmit"


PS, PE = ParticipantStatus, ParticipantEvent
PARTICIPANTS: Machine[ParticipantStatus, ParticipantEvent] = Machine("交易主体", "market participant", {
    (PS.PENDING, PE.APPROVE): PS.APPROVED,
    (PS.PENDING, PE.REFUSE): PS.REFUSED,
    (PS.REFUSED, PE.RESUBMIT): PS.PENDING,
    (PS.APPROVED, PE.SUSPEND): PS.SUSPENDED,
    (PS.SUSPENDED, PE.REINSTATE): PS.APPROVED,
    (PS.APPROVED, PE.REVOKE): PS.REVOKED,
    (PS.SUSPENDED, PE.REVOKE): PS.REVOKED,
})


class ProductStatus(StrEnum):
    DRAFT = "draft"
    REVIEWING = "reviewing"
    LISTED = "listed"
    REFUSED = "refused"
    DELISTED = "delisted"


class ProductEvent(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REFUSE = "refuse"
    DELIST = "delist"


PRS, PRE = ProductStatus, ProductEvent
PRODUCTS: Machine[ProductStatus, ProductEvent] = Machine("数据产品", "data product", {
    (PRS.DRAFT, PRE.SUBMIT): PRS.REVIEWING,
    (PRS.REFUSED, PRE.SUBMIT): PRS.REVIEWING,
    (PRS.DELISTED, PRE.SUBMIT): PRS.REVIEWING,
    (PRS.REVIEWING, PRE.APPROVE): PRS.LISTED,
    (PRS.REVIEWING, PRE.REFUSE): PRS.REFUSED,
    (PRS.LISTED, PRE.DELIST): PRS.DELISTED,
})


class OrderStatus(StrEnum):
    INQUIRY = "inquiry"
    NEGOTIATION = "negotiation"
    CONTRACT = "contract"
    ESCROW_FUNDED = "escrow_funded"
    DELIVERING = "delivering"
    ACCEPTED = "accepted"
    SETTLED = "settled"
    CLOSED = "closed"
    REFUSED = "refused"
    TERMINATED = "terminated"
    DISPUTED = "disputed"
    REFUNDED = "refunded"


class OrderEvent(StrEnum):
    OFFER = "offer"  # a quote or counter-offer
    AGREE = "agree"  # the other party accepts the price on the table
    REFUSE = "refuse"  # the seller declines
    TERMINATE = "terminate"  # withdrawn, or the contract expired before funding
    FUND = "fund"  # the buyer's payment reached escrow
    DELIVER = "deliver"
    ACCEPT = "accept"
    AUTO_ACCEPT = "auto_accept"
    DISPUTE = "dispute"
    RESOLVE_ACCEPT = "resolve_accept"  # the operator finds the delivery conforming
    REFUND = "refund"
    SETTLE = "settle"
    CLOSE = "close"


OS, OE = OrderStatus, OrderEvent
ORDERS: Machine[OrderStatus, OrderEvent] = Machine("订单", "order", {
    (OS.INQUIRY, OE.OFFER): OS.NEGOTIATION,
    (OS.INQUIRY, OE.AGREE): OS.CONTRACT,
    (OS.INQUIRY, OE.REFUSE): OS.REFUSED,
    (OS.INQUIRY, OE.TERMINATE): OS.TERMINATED,
    (OS.NEGOTIATION, OE.OFFER): OS.NEGOTIATION,
    (OS.NEGOTIATION, OE.AGREE): OS.CONTRACT,
    (OS.NEGOTIATION, OE.REFUSE): OS.REFUSED,
    (OS.NEGOTIATION, OE.TERMINATE): OS.TERMINATED,
    (OS.CONTRACT, OE.FUND): OS.ESCROW_FUNDED,
    (OS.CONTRACT, OE.TERMINATE): OS.TERMINATED,
    (OS.ESCROW_FUNDED, OE.DELIVER): OS.DELIVERING,
    (OS.ESCROW_FUNDED, OE.REFUND): OS.REFUNDED,
    (OS.DELIVERING, OE.ACCEPT): OS.ACCEPTED,
    (OS.DELIVERING, OE.AUTO_ACCEPT): OS.ACCEPTED,
    (OS.DELIVERING, OE.DISPUTE): OS.DISPUTED,
    (OS.DISPUTED, OE.RESOLVE_ACCEPT): OS.ACCEPTED,
    (OS.DISPUTED, OE.REFUND): OS.REFUNDED,
    (OS.ACCEPTED, OE.SETTLE): OS.SETTLED,
    (OS.SETTLED, OE.CLOSE): OS.CLOSED,
    (OS.REFUNDED, OE.CLOSE): OS.CLOSED,
})

STATUS_LABELS: dict[str, str] = {
    "pending": "待审核", "approved": "已通过", "refused": "未通过/已拒绝", "suspended": "已暂停", "revoked": "已撤销",
    "draft": "草稿", "reviewing": "挂牌审核中", "listed": "已挂牌", "delisted": "已摘牌",
    "inquiry": "询价", "negotiation": "议价中", "contract": "合同签署", "escrow_funded": "资金已托管",
    "delivering": "交付中", "accepted": "已验收", "settled": "已结算", "closed": "已关闭", "terminated": "已终止",
    "disputed": "争议中", "refunded": "已退款",
}
