"""The quarantine's workflow: a row set aside on ingest is ``open`` until a fix makes it pass the
blocking rules (``fixed``); releasing appends the fixed rows to a new version (``released``). See
:mod:`shudata.core.states`; the stored strings are the values.

A fix may be made to a row in any state (a released row edited again is checked again, as before
this table existed); only fixed rows are released.

>>> QUARANTINE.next("open", QuarantineEvent.FIX_PASSED)
<QuarantineStatus.FIXED: 'fixed'>
>>> QUARANTINE.can("open", QuarantineEvent.RELEASE)
False
"""

from __future__ import annotations

from enum import StrEnum

from shudata.core.states import Machine


class QuarantineStatus(StrEnum):
    """A quarantined row (``quality_quarantine_row.status``)."""

    OPEN = "open"
    FIXED = "fixed"
    RELEASED = "released"


class QuarantineEvent(StrEnum):
    FIX_PASSED = "fix_passed"  # new values pass the blocking rules
    FIX_FAILED = "fix_failed"  # new values still fail some
    RELEASE = "release"


QUARANTINE: Machine[QuarantineStatus, QuarantineEvent] = Machine("隔离记录", "quarantined row", {
    **{(s, QuarantineEvent.FIX_PASSED): QuarantineStatus.FIXED for s in QuarantineStatus},
    **{(s, QuarantineEvent.FIX_FAILED): QuarantineStatus.OPEN for s in QuarantineStatus},
    (QuarantineStatus.FIXED, QuarantineEvent.RELEASE): QuarantineStatus.RELEASED,
})
