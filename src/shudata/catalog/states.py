"""The catalog's one workflow: a demand for data (``catalog_demand.status``; see
:mod:`shudata.core.states`). A steward links a demand to the entry that answers it, closes it, or
reopens it — from any state, as the demand page has always allowed (a closed demand may still be
answered by an entry registered later; a wrong link is undone by reopening).

>>> DEMANDS.next("closed", DemandEvent.LINK)
<DemandStatus.MATCHED: 'matched'>
>>> sorted({str(t) for t in DEMANDS.table.values()})
['closed', 'matched', 'open']
"""

from __future__ import annotations

from enum import StrEnum

from shudata.catalog.schemas import DemandStatus
from shudata.core.states import Machine


class DemandEvent(StrEnum):
    LINK = "link"  # an entry answers it
    CLOSE = "close"  # no entry will: closed by a steward
    REOPEN = "reopen"  # the link or the closing is undone


_TARGET = {DemandEvent.LINK: DemandStatus.MATCHED, DemandEvent.CLOSE: DemandStatus.CLOSED,
           DemandEvent.REOPEN: DemandStatus.OPEN}

DEMANDS: Machine[DemandStatus, DemandEvent] = Machine(
    "数据需求", "demand", {(s, e): t for s in DemandStatus for e, t in _TARGET.items()})
