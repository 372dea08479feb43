"""The request state machine of 国发〔2016〕51号.

States: ``pending`` (有条件共享, awaiting the provider) → ``approved`` | ``partially_approved``
| ``refused``; 无条件共享 requests are ``approved`` at once; 不予共享 requests are ``refused``
at once with the catalog's legal basis. A refused request may be ``disputed``; the
platform admin resolves a dispute as ``approved`` (coordination succeeded) or
``refused`` (upheld). Requesters may ``cancel`` a pending request.

>>> next_status("pending", RequestEvent.APPROVE)
<RequestStatus.APPROVED: 'approved'>
>>> next_status("refused", RequestEvent.DISPUTE)
<RequestStatus.DISPUTED: 'disputed'>
>>> can("approved", RequestEvent.DISPUTE)
False
"""

from __future__ import annotations

from enum import StrEnum

from shudata.core.states import Machine


class RequestStatus(StrEnum):
    """The state of a sharing request (stored as its value in ``sharing_request.status``)."""

    PENDING = "pending"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    REFUSED = "refused"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"


class RequestEvent(StrEnum):
    """What can happen to a sharing request."""

    APPROVE = "approve"
    APPROVE_PARTIAL = "approve_partial"
    REFUSE = "refuse"
    DISPUTE = "dispute"
    RESOLVE_GRANT = "resolve_grant"
    RESOLVE_UPHOLD = "resolve_uphold"
    CANCEL = "cancel"


Status = RequestStatus
Event = RequestEvent

STATUS_LABELS: dict[str, tuple[str, str]] = {
    RequestStatus.PENDING: ("待审核", "pending"),
    RequestStatus.APPROVED: ("已批准", "approved"),
    RequestStatus.PARTIALLY_APPROVED: ("部分批准", "partially approved"),
    RequestStatus.REFUSED: ("已拒绝", "refused"),
    RequestStatus.DISPUTED: ("争议协调中", "disputed"),
    RequestStatus.CANCELLED: ("已撤回", "cancelled"),
}

TRANSITIONS: dict[tuple[RequestStatus, RequestEvent], RequestStatus] = {
    (RequestStatus.PENDING, RequestEvent.APPROVE): RequestStatus.APPROVED,
    (RequestStatus.PENDING, RequestEvent.APPROVE_PARTIAL): RequestStatus.PARTIALLY_APPROVED,
    (RequestStatus.PENDING, RequestEvent.REFUSE): RequestStatus.REFUSED,
    (RequestStatus.PENDING, RequestEvent.CANCEL): RequestStatus.CANCELLED,
    # overdue requests can be escalated by the requester
    (RequestStatus.PENDING, RequestEvent.DISPUTE): RequestStatus.DISPUTED,
    (RequestStatus.REFUSED, RequestEvent.DISPUTE): RequestStatus.DISPUTED,
    (RequestStatus.DISPUTED, RequestEvent.RESOLVE_GRANT): RequestStatus.APPROVED,
    (RequestStatus.DISPUTED, RequestEvent.RESOLVE_UPHOLD): RequestStatus.REFUSED,
}


def _refusal(status: str, event: RequestEvent) -> tuple[str, str]:
    zh = STATUS_LABELS.get(status, (status, status))[0]
    return f"申请当前状态为“{zh}”，不能执行该操作", f"The request is {status}; {event} is not possible"


MACHINE: Machine[RequestStatus, RequestEvent] = Machine("共享申请", "sharing request", TRANSITIONS, _refusal)


def can(status: str, event: RequestEvent) -> bool:
    return MACHINE.can(status, event)


def next_status(status: str, event: RequestEvent) -> RequestStatus:
    """The state after ``event``; ``Conflict`` (409, ``invalid_transition``) when the event does not apply."""
    return MACHINE.next(status, event)



class DisputeStatus(StrEnum):
    """A dispute about a refused or overdue request (``sharing_dispute.status``)."""

    OPEN = "open"
    RESOLVED = "resolved"


class DisputeEvent(StrEnum):
    RESOLVE = "resolve"


DISPUTES: Machine[DisputeStatus, DisputeEvent] = Machine("争议", "dispute", {
    (DisputeStatus.OPEN, DisputeEvent.RESOLVE): DisputeStatus.RESOLVED,
})


class PushStatus(StrEnum):
    """A queued push of a new version to a subscriber's webhook (``push_delivery.status``); a
    failed attempt stays ``pending`` and is retried with back-off."""

    PENDING = "pending"
    DELIVERED = "delivered"


class PushEvent(StrEnum):
    DELIVER = "deliver"


PUSHES: Machine[PushStatus, PushEvent] = Machine("推送", "push", {
    (PushStatus.PENDING, PushEvent.DELIVER): PushStatus.DELIVERED,
})

def initial_status(sharing_type: int) -> RequestStatus:
    """无条件共享 → approved at once; 有条件 → pending; 不予 → refused with the legal basis."""
    return {1: RequestStatus.APPROVED, 2: RequestStatus.PENDING, 3: RequestStatus.REFUSED}[sharing_type]
