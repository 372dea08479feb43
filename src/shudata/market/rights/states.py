"""The registration workflow (确权登记) and its vocabulary.

``submitted`` (申请, with evidence) → compliance review: ``approve`` opens the public notice
(``notice``, 公示, N working days) or ``refuse`` ends it; during the notice anyone may ``object``
(``objected``), the exchange then ``dismiss`` es the objections (back to ``notice``) or ``uphold`` s one
(``refused``); when the notice period has passed with no objection pending, ``conclude`` registers it
and issues the certificate (``registered``). The applicant may ``withdraw`` before that. A
registered certificate ends by ``cancel`` (注销 registration concluded), ``revoke`` (撤销 registration
concluded, or the exchange revoking it) or ``supersede`` (a 转移 / 变更 registration concluded on it,
whose new certificate replaces it).

>>> MACHINE.next("submitted", RegistrationEvent.APPROVE)
<RegistrationStatus.NOTICE: 'notice'>
>>> MACHINE.can("registered", RegistrationEvent.OBJECT)
False
"""

from __future__ import annotations

from enum import StrEnum

from shudata.core.states import Machine


class Right(StrEnum):
    """The three rights of 《关于构建数据基础制度更好发挥数据要素作用的意见》（数据二十条）."""

    HOLDING = "holding"  # 数据资源持有权
    PROCESSING = "processing"  # 数据加工使用权
    OPERATING = "operating"  # 数据产品经营权


RIGHT_LABELS: dict[str, str] = {Right.HOLDING: "数据资源持有权", Right.PROCESSING: "数据加工使用权",
                                Right.OPERATING: "数据产品经营权"}
RIGHT_CODES: dict[str, str] = {Right.HOLDING: "CY", Right.PROCESSING: "JG", Right.OPERATING: "JY"}


class RegistrationType(StrEnum):
    INITIAL = "initial"  # 首次登记
    LICENCE = "licence"  # 许可登记
    TRANSFER = "transfer"  # 转移登记
    CHANGE = "change"  # 变更登记
    CANCEL = "cancel"  # 注销登记
    REVOKE = "revoke"  # 撤销登记
    OBJECTION = "objection"  # 异议登记


TYPE_LABELS: dict[str, str] = {
    RegistrationType.INITIAL: "首次登记", RegistrationType.LICENCE: "许可登记", RegistrationType.TRANSFER: "转移登记",
    RegistrationType.CHANGE: "变更登记", RegistrationType.CANCEL: "注销登记", RegistrationType.REVOKE: "撤销登记",
    RegistrationType.OBJECTION: "异议登记",
}
# the types that act on an existing registered certificate (``target``)
ON_TARGET = frozenset({RegistrationType.LICENCE, RegistrationType.TRANSFER, RegistrationType.CHANGE,
                       RegistrationType.CANCEL, RegistrationType.REVOKE, RegistrationType.OBJECTION})
# the types whose conclusion issues a certificate of their own
ISSUES_CERTIFICATE = frozenset({RegistrationType.INITIAL, RegistrationType.LICENCE, RegistrationType.TRANSFER,
                                RegistrationType.CHANGE})


class RegistrationStatus(StrEnum):
    SUBMITTED = "submitted"
    NOTICE = "notice"
    OBJECTED = "objected"
    REGISTERED = "registered"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


STATUS_LABELS: dict[str, str] = {
    RegistrationStatus.SUBMITTED: "待合规审查", RegistrationStatus.NOTICE: "公示中",
    RegistrationStatus.OBJECTED: "异议处理中", RegistrationStatus.REGISTERED: "已登记",
    RegistrationStatus.REFUSED: "不予登记", RegistrationStatus.WITHDRAWN: "已撤回",
    RegistrationStatus.CANCELLED: "已注销", RegistrationStatus.REVOKED: "已撤销",
    RegistrationStatus.SUPERSEDED: "已被新证书取代",
}


class RegistrationEvent(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"
    OBJECT = "object"
    DISMISS = "dismiss"
    UPHOLD = "uphold"
    CONCLUDE = "conclude"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"
    REVOKE = "revoke"
    SUPERSEDE = "supersede"


S, E = RegistrationStatus, RegistrationEvent
TRANSITIONS: dict[tuple[RegistrationStatus, RegistrationEvent], RegistrationStatus] = {
    (S.SUBMITTED, E.APPROVE): S.NOTICE,
    (S.SUBMITTED, E.REFUSE): S.REFUSED,
    (S.SUBMITTED, E.WITHDRAW): S.WITHDRAWN,
    (S.NOTICE, E.OBJECT): S.OBJECTED,
    (S.NOTICE, E.CONCLUDE): S.REGISTERED,
    (S.NOTICE, E.WITHDRAW): S.WITHDRAWN,
    (S.OBJECTED, E.OBJECT): S.OBJECTED,
    (S.OBJECTED, E.DISMISS): S.NOTICE,
    (S.OBJECTED, E.UPHOLD): S.REFUSED,
    (S.OBJECTED, E.WITHDRAW): S.WITHDRAWN,
    (S.REGISTERED, E.CANCEL): S.CANCELLED,
    (S.REGISTERED, E.REVOKE): S.REVOKED,
    (S.REGISTERED, E.SUPERSEDE): S.SUPERSEDED,
}


def _refusal(status: str, event: RegistrationEvent) -> tuple[str, str]:
    return (f"登记当前状态为“{STATUS_LABELS.get(status, status)}”，不能执行该操作",
            f"The registration is {status}; {event} is not possible")


MACHINE: Machine[RegistrationStatus, RegistrationEvent] = Machine("确权登记", "rights registration", TRANSITIONS,
                                                                  _refusal)
