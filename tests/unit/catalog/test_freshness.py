"""Freshness flags from lake versions, in entries, search results and dashboards."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from shudata.catalog import dashboard, service
from shudata.catalog.models import CatalogResource
from shudata.catalog.search import search
from shudata.core.errors import PermissionDenied
from shudata.lake.models import LakeVersion

NOW = dt.datetime.now(dt.UTC)


def add_version(rt, resource_id: int, days_ago: float, version: int = 1) -> None:
    with rt.transaction() as s:
        s.add(LakeVersion(resource_id=resource_id, version=version, rows=10, bytes=100, columns=[],
                          source_name="data.csv", source_format="csv", storage_path=f"r{resource_id}/v{version}",
                          created_by="test", created_at=NOW - dt.timedelta(days=days_ago)))


def age(rt, resource_id: int, days: float) -> None:
    with rt.transaction() as s:
        s.execute(update(CatalogResource).where(CatalogResource.id == resource_id)
                  .values(created_at=NOW - dt.timedelta(days=days)))


@pytest.fixture
def entries(rt, world, add_entry):
    daily_stale = add_entry(world.steward, "四川省企业信用信息", update_cycle="每日")
    monthly_fresh = add_entry(world.steward, "四川省企业年报信息", update_cycle="每月")
    yearly_none = add_entry(world.steward, "四川省企业名录信息", update_cycle="每年")
    monthly_none_old = add_entry(world.steward, "四川省个体户信息", update_cycle="每月")
    add_version(rt, daily_stale.id, days_ago=5)
    add_version(rt, daily_stale.id, days_ago=3, version=2)
    add_version(rt, monthly_fresh.id, days_ago=10)
    age(rt, monthly_none_old.id, days=60)
    return daily_stale, monthly_fresh, yearly_none, monthly_none_old


def test_entry_flags(rt, world, entries):
    stale, fresh, none_new, none_old = entries
    with rt.transaction() as s:
        got = {r.id: r for r in service.list_resources(session=s, actor=world.user).items}
    assert (got[stale.id].freshness, got[stale.id].overdue, got[stale.id].latest_data_version) == ("overdue", True, 2)
    assert (got[fresh.id].freshness, got[fresh.id].overdue) == ("fresh", False)
    assert (got[none_new.id].freshness, got[none_new.id].overdue) == ("no_data", False)
    assert (got[none_old.id].freshness, got[none_old.id].overdue) == ("no_data", True)
    assert got[stale.id].latest_data_at is not None and got[none_new.id].latest_data_at is None


def test_search_results_carry_the_flag(rt, world, entries):
    with rt.transaction() as s:
        res = search(session=s, actor=world.user, q="企业信用")
    assert res.hits[0].resource.overdue and res.hits[0].resource.freshness == "overdue"


def test_department_dashboard_counts_and_lists(rt, world, entries):
    stale, _fresh, none_new, none_old = entries
    with rt.transaction() as s:
        board = dashboard.department_dashboard(session=s, actor=world.user, department_id=world.market)
    assert (board.entries, board.overdue, board.no_data, board.fresh) == (4, 1, 2, 1)
    assert [r.code for r in board.overdue_entries] == [stale.code]
    assert {r.code for r in board.no_data_entries} == {none_new.code, none_old.code}


def test_platform_dashboard_is_for_admins_and_department_boards_for_members(rt, world, entries):
    with rt.transaction() as s:
        total = dashboard.platform_dashboard(session=s, actor=world.admin)
        with pytest.raises(PermissionDenied):
            dashboard.platform_dashboard(session=s, actor=world.steward)
        with pytest.raises(PermissionDenied):
            dashboard.department_dashboard(session=s, actor=world.other_steward, department_id=world.market)
    by_name = {d.department_name: d for d in total.departments}
    assert by_name["四川省市场监督管理局"].overdue == 1 and by_name["四川省公安厅"].entries == 0
    assert (total.entries, total.overdue, total.no_data) == (4, 1, 2)
