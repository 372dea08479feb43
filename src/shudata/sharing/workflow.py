"""The request state machine of 国发〔2016〕51号.

States: ``pending`` (有条件共享, awaiting the provider) → ``approved`` | ``partially_approved``
| ``refused``; 无条件共享 requests are ``approved`` at once; 不予共享 requests are ``refused``
at once with the catalog's legal basis. A refused request may be ``disputed``; the
platform admin resolves a dispute as ``approved`` (coordination succeeded) or
``refused`` (upheld). Requesters may ``cancel`` a pending request.

>>> next_status("pending", "approve")
'approved'
>>> next_status("refused", "dispute")
'disputed'
>>> can("approved", "dispute")
False
"""

from __future__ import annotations

from typing import Literal

from shudata.core.errors import Conflict

Status = Literal["pending", "approved", "partially_approved", "refused", "disputed", "cancelled"]
Event = Literal["approve", "approve_partial", "refuse", "dispute", "resolve_grant", "resolve_uphold", "cancel"]

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "pending": ("待审核", "pending"),
    "approved": ("已批准", "approved"),
    "partially_approved": ("部分批准", "partially approved"),
    "refused": ("已拒绝", "refused"),
    "disputed": ("争议协调中", "disputed"),
    "cancelled": ("已撤回", "cancelled"),
}

TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "approve"): "approved",
    ("pending", "approve_partial"): "partially_approved",
    ("pending", "refuse"): "refused",
    ("pending", "cancel"): "cancelled",
    ("pending", "dispute"): "disputed",  # overdue requests can be escalated by the requester
    ("refused", "dispute"): "disputed",
    ("disputed", "resolve_grant"): "approved",
    ("disputed", "resolve_uphold"): "refused",
}


def can(status: str, event: str) -> bool:
    return (status, event) in TRANSITIONS


def next_status(status: str, event: str) -> str:
    """The state after ``event``; ``Conflict`` (409) when the event does not apply."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        zh = STATUS_LABELS.get(status, (status, status))[0]
        raise Conflict(f"申请当前状态为“{zh}”，不能执行该操作", f"The request is {status}; {event} is not possible",
                       code="invalid_transition") from None


def initial_status(sharing_type: int) -> str:
    """无条件共享 → approved at once; 有条件 → pending; 不予 → refused with the legal basis."""
    return {1: "approved", 2: "pending", 3: "refused"}[sharing_type]
