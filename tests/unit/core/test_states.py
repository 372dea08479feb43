"""The workflow transition tables, pair by pair: every (state, event) is either allowed, to the
state the table names, or refused with Conflict (409, ``invalid_transition``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from shudata.catalog.schemas import DemandStatus
from shudata.catalog.states import DEMANDS, DemandEvent
from shudata.core.errors import Conflict
from shudata.core.states import Machine
from shudata.market.rights.states import MACHINE as RIGHTS
from shudata.market.rights.states import RegistrationEvent, RegistrationStatus
from shudata.market.states import (
    ORDERS,
    PARTICIPANTS,
    PRODUCTS,
    OrderEvent,
    OrderStatus,
    ParticipantEvent,
    ParticipantStatus,
    ProductEvent,
    ProductStatus,
)
from shudata.portal.states import (
    APPLICATIONS,
    DATA_REQUESTS,
    HARVEST_JOBS,
    PUBLICATIONS,
    ApplicationEvent,
    ApplicationStatus,
    DataRequestEvent,
    DataRequestStatus,
    HarvestJobEvent,
    HarvestJobStatus,
    PublicationEvent,
    PublicationStatus,
)
from shudata.quality.states import QUARANTINE, QuarantineEvent, QuarantineStatus
from shudata.sharing.workflow import (
    DISPUTES,
    MACHINE,
    PUSHES,
    DisputeEvent,
    DisputeStatus,
    PushEvent,
    PushStatus,
    RequestEvent,
    RequestStatus,
    initial_status,
    next_status,
)

MACHINES: list[tuple[Machine[Any, Any], type[StrEnum], type[StrEnum]]] = [
    (MACHINE, RequestStatus, RequestEvent),
    (APPLICATIONS, ApplicationStatus, ApplicationEvent),
    (DATA_REQUESTS, DataRequestStatus, DataRequestEvent),
    (PUBLICATIONS, PublicationStatus, PublicationEvent),
    (QUARANTINE, QuarantineStatus, QuarantineEvent),
    (DISPUTES, DisputeStatus, DisputeEvent),
    (PUSHES, PushStatus, PushEvent),
    (HARVEST_JOBS, HarvestJobStatus, HarvestJobEvent),
    (PARTICIPANTS, ParticipantStatus, ParticipantEvent),
    (PRODUCTS, ProductStatus, ProductEvent),
    (ORDERS, OrderStatus, OrderEvent),
    (DEMANDS, DemandStatus, DemandEvent),
    (RIGHTS, RegistrationStatus, RegistrationEvent),
]

EXPECTED: dict[str, set[tuple[str, str, str]]] = {
    "sharing request": {
        ("pending", "approve", "approved"), ("pending", "approve_partial", "partially_approved"),
        ("pending", "refuse", "refused"), ("pending", "cancel", "cancelled"), ("pending", "dispute", "disputed"),
        ("refused", "dispute", "disputed"), ("disputed", "resolve_grant", "approved"),
        ("disputed", "resolve_uphold", "refused"),
    },
    "application": {("pending", "approve", "approved"), ("pending", "refuse", "refused"),
                    ("approved", "refuse", "revoked")},
    "data request": {("open", "answer", "answered")},
    "publication": {("published", "supersede", "superseded"), ("published", "withdraw", "withdrawn")},
    "quarantined row": {*((s, "fix_passed", "fixed") for s in ("open", "fixed", "released")),
                        *((s, "fix_failed", "open") for s in ("open", "fixed", "released")),
                        ("fixed", "release", "released")},
    "dispute": {("open", "resolve", "resolved")},
    "push": {("pending", "deliver", "delivered")},
    "harvest job": {("running", "finish", "finished"), ("running", "fail", "failed"),
                    ("running", "close_stale", "failed"), ("failed", "finish", "finished"),
                    ("failed", "fail", "failed")},
    "market participant": {("pending", "approve", "approved"), ("pending", "refuse", "refused"),
                           ("refused", "resubmit", "pending"), ("approved", "suspend", "suspended"),
                           ("suspended", "reinstate", "approved"), ("approved", "revoke", "revoked"),
                           ("suspended", "revoke", "revoked")},
    "data product": {("draft", "submit", "reviewing"), ("refused", "submit", "reviewing"),
                     ("delisted", "submit", "reviewing"), ("reviewing", "approve", "listed"),
                     ("reviewing", "refuse", "refused"), ("listed", "delist", "delisted")},
    "order": {
        ("inquiry", "offer", "negotiation"), ("inquiry", "agree", "contract"), ("inquiry", "refuse", "refused"),
        ("inquiry", "terminate", "terminated"), ("negotiation", "offer", "negotiation"),
        ("negotiation", "agree", "contract"), ("negotiation", "refuse", "refused"),
        ("negotiation", "terminate", "terminated"), ("contract", "fund", "escrow_funded"),
        ("contract", "terminate", "terminated"), ("escrow_funded", "deliver", "delivering"),
        ("escrow_funded", "refund", "refunded"), ("delivering", "accept", "accepted"),
        ("delivering", "auto_accept", "accepted"), ("delivering", "dispute", "disputed"),
        ("disputed", "resolve_accept", "accepted"), ("disputed", "refund", "refunded"),
        ("accepted", "settle", "settled"), ("settled", "close", "closed"), ("refunded", "close", "closed"),
    },
    "demand": {*((s, "link", "matched") for s in ("open", "matched", "closed")),
               *((s, "close", "closed") for s in ("open", "matched", "closed")),
               *((s, "reopen", "open") for s in ("open", "matched", "closed"))},
    "rights registration": {
        ("submitted", "approve", "notice"), ("submitted", "refuse", "refused"), ("submitted", "withdraw", "withdrawn"),
        ("notice", "object", "objected"), ("notice", "conclude", "registered"), ("notice", "withdraw", "withdrawn"),
        ("objected", "object", "objected"), ("objected", "dismiss", "notice"), ("objected", "uphold", "refused"),
        ("objected", "withdraw", "withdrawn"), ("registered", "cancel", "cancelled"),
        ("registered", "revoke", "revoked"), ("registered", "supersede", "superseded"),
    },
}

PAIRS = [(m, s, e) for m, states, evs in MACHINES for s in states for e in evs]


def test_the_tables_are_exactly_the_documented_ones() -> None:
    for m, _, _ in MACHINES:
        assert {(str(s), str(e), str(t)) for (s, e), t in m.table.items()} == EXPECTED[m.what_en]


@pytest.mark.parametrize(("machine", "state", "event"), PAIRS,
                         ids=[f"{m.what_en}:{s}+{e}" for m, s, e in PAIRS])
def test_every_pair_is_allowed_or_refused_with_a_conflict(machine: Machine[Any, Any], state: StrEnum,
                                                          event: StrEnum) -> None:
    allowed = {(s, e): t for s, e, t in EXPECTED[machine.what_en]}
    stored = str(state.value)  # what the database hands back: a plain string
    if (stored, str(event)) in allowed:
        assert machine.can(stored, event)
        assert machine.next(stored, event) == allowed[(stored, str(event))]
    else:
        assert not machine.can(stored, event)
        with pytest.raises(Conflict) as err:
            machine.next(stored, event)
        assert (err.value.code, err.value.status) == ("invalid_transition", 409)


def test_the_sharing_messages_and_initial_states_stay_as_they_were() -> None:
    with pytest.raises(Conflict) as err:
        next_status("approved", RequestEvent.DISPUTE)
    assert err.value.zh == "申请当前状态为“已批准”，不能执行该操作"
    assert err.value.en == "The request is approved; dispute is not possible"
    assert [initial_status(t) for t in (1, 2, 3)] == ["approved", "pending", "refused"]


def test_the_application_messages_stay_as_they_were() -> None:
    with pytest.raises(Conflict) as err:
        APPLICATIONS.next("refused", ApplicationEvent.APPROVE)
    assert err.value.en == "Application is refused; cannot approve"
    with pytest.raises(Conflict) as err:
        APPLICATIONS.next("revoked", ApplicationEvent.REFUSE)
    assert err.value.en == "Application is revoked"
    with pytest.raises(Conflict) as err:
        DATA_REQUESTS.next("answered", DataRequestEvent.ANSWER)
    assert err.value.en == "This request has already been answered"
