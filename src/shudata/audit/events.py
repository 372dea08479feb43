"""Audit events: what happened, to what, with which outcome.

``action`` uses the authorization vocabulary (``catalog.resource.create``,
``lake.version.read``, ``query.run`` …) plus the session events ``auth.login`` and
``auth.logout``, and the refused logins ``security.login.failed`` (a wrong name or password, or
an attempt while locked) and ``security.login.locked`` (a lock-out begins; details say whether
of the account or of the address, and for how long). Each entry also records the actor's kind
(``user``, ``token``, ``peer``, ``developer``, ``system``, ``anonymous``), so the platform's own
actions never read as those of an account that happens to share a name.

``outcome`` is ``success``, ``denied`` (authorization refused) or ``rejected`` (bad input
refused with a 4xx).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["success", "denied", "rejected", "failure"]


@dataclass(frozen=True)
class AuditEvent:
    """One auditable action. Recorded through :func:`shudata.audit.ledger.record`."""

    action: str
    outcome: Outcome = "success"
    resource_type: str | None = None
    resource_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
