"""Metering of an entitlement under concurrent reads (issue 16): a Delta Sharing client fetches tables in
parallel, so two calls may hold the same entitlement at once. Each call's count is one conditional
UPDATE: neither count is lost (metered plans bill from them) and two calls cannot pass the quota
together."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from shudata.core.errors import LimitExceeded
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.delivery.service import charge, open_entitlement
from support.market import delivering, market_world, sold


@pytest.fixture
def entitlement(rt: Any, make_user: Any) -> int:
    world = market_world(rt, make_user)
    with rt.transaction() as s:
        product, plan = sold(s, world, "P-MT-1", name="计量测试", plan="metered", price_fen=1)
        order = delivering(s, world, product, plan, "O-MT-1", purpose="计量")
        ent = open_entitlement(s, order)
        ent.metered = True
        return ent.id


def test_two_overlapping_calls_are_both_counted(rt: Any, entitlement: int) -> None:
    first, second = Session(rt.engine), Session(rt.engine)
    try:
        slow = first.get(MarketEntitlement, entitlement)  # read before the other call counts
        fast = second.get(MarketEntitlement, entitlement)
        assert slow is not None and fast is not None and slow.rows_used == fast.rows_used == 0
        charge(fast, rows=10)
        second.commit()
        charge(slow, rows=5)  # its copy still says 0 rows used
        first.commit()
        assert slow.rows_used == 15 and slow.calls_used == 2
    finally:
        first.close()
        second.close()
    with rt.transaction() as s:
        row = s.get(MarketEntitlement, entitlement)
        assert (row.calls_used, row.rows_used) == (2, 15)


def test_two_overlapping_calls_cannot_pass_the_quota_together(rt: Any, entitlement: int) -> None:
    with rt.transaction() as s:
        s.get(MarketEntitlement, entitlement).quota_rows = 12
    first, second = Session(rt.engine), Session(rt.engine)
    try:
        slow = first.get(MarketEntitlement, entitlement)
        fast = second.get(MarketEntitlement, entitlement)
        charge(fast, rows=10)
        second.commit()
        with pytest.raises(LimitExceeded) as refused:  # 10 + 5 > 12, though its copy says 0 + 5
            charge(slow, rows=5)
        assert refused.value.code == "entitlement_row_quota"
        first.rollback()
    finally:
        first.close()
        second.close()
    with rt.transaction() as s:
        assert s.get(MarketEntitlement, entitlement).rows_used == 10
