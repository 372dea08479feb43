"""Sellers' uploads held in the exchange's custody department are not the catalog's to show.

Their names and abstracts reach the custody department's staff and the exchange operator (who
reviews listings) — and the seller through the market — but no other department, no anonymous
caller and not the platform admin, through any listing: catalog search (hits and facets), the
entry list, one entry and its history (404, as for an entry that does not exist), the sharing
list, the catalog export, a department dashboard's entry lists, the sharing request form, the
API, the web catalog page and the CKAN API.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from shudata.catalog import dashboard, import_export, search, service, sharing_list
from shudata.catalog.access import find_resource
from shudata.catalog.schemas import SearchFilters
from shudata.core.errors import NotFound
from shudata.core.types import Actor, Role
from shudata.market import uploads as U
from shudata.market.custody import custody_department
from shudata.sharing.schemas import Purpose, RequestCreate
from shudata.sharing.service import request_access
from support.market import enterprise
from support.market_uploads import people_csv

NAME = "晨曦消费者名单托管样本"


@pytest.fixture
def world(rt: Any, make_user: Any, make_department: Any, tmp_path: Path) -> dict[str, Any]:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    seller_id, seller = enterprise(rt, 21, "vseller", "seller", operator=op)
    with rt.transaction() as s:
        p = U.upload_product(session=s, actor=seller, settings=rt.settings, seller_id=seller_id, name=NAME,
                             path=people_csv(tmp_path / "people.csv"), filename="people.csv")
        custody = custody_department(s).id
    dept = make_department("省商务厅")
    return {"code": p.sources[0]["resource"], "custody": custody, "op": op,
            "custody_staff": make_user("custody_clerk", Role.DATA_STEWARD, department_id=custody),
            "admin": make_user("opsadmin", Role.PLATFORM_ADMIN),
            "steward": make_user("commerce_steward", Role.DATA_STEWARD, department_id=dept),
            "user": make_user("commerce_user", Role.DEPT_USER, department_id=dept)}


def _listings(rt: Any, actor: Actor, w: dict[str, Any]) -> dict[str, bool]:
    """Whether each listing path shows the custody entry to ``actor``."""
    code = w["code"]
    with rt.transaction() as s:
        found = search.search(session=s, actor=actor, q=NAME)
        browse = search.search(session=s, actor=actor, q="", limit=500)
        facet = search.search(session=s, actor=actor, q="", filters=SearchFilters(provider=w["custody"]))
        listed = service.list_resources(session=s, actor=actor, limit=500)
        shared = sharing_list.sharing_list(session=s, actor=actor)
        exported = import_export.export_catalog(session=s, actor=actor, fmt="csv").decode("utf-8-sig")
        try:
            one = service.get_resource(session=s, actor=actor, key=code).name == NAME
            service.history(session=s, actor=actor, code=code)
        except NotFound:
            one = False
    providers = {v.value for v in browse.facets["provider"]}
    return {"search": any(h.resource.code == code for h in found.hits),
            "browse": any(h.resource.code == code for h in browse.hits) or str(w["custody"]) in providers,
            "facet": facet.total > 0, "list": any(r.code == code for r in listed.items),
            "sharing_list": any(r.code == code for r in shared), "export": NAME in exported, "get": one}


@pytest.mark.parametrize("who", ["admin", "steward", "user"])
def test_other_departments_and_the_admin_see_no_custody_entry(rt: Any, world: dict[str, Any], who: str) -> None:
    assert _listings(rt, world[who], world) == dict.fromkeys(
        ("search", "browse", "facet", "list", "sharing_list", "export", "get"), False)


@pytest.mark.parametrize("who", ["op", "custody_staff"])
def test_the_operator_and_the_custody_staff_see_it(rt: Any, world: dict[str, Any], who: str) -> None:
    seen = _listings(rt, world[who], world)
    assert seen["search"] and seen["browse"] and seen["facet"] and seen["list"] and seen["get"] and seen["export"]


def test_the_custody_dashboard_lists_no_entry_to_the_admin(rt: Any, world: dict[str, Any]) -> None:
    with rt.transaction() as s:
        board = dashboard.department_dashboard(session=s, actor=world["admin"], department_id=world["custody"])
        assert board.entries >= 1 and board.no_data_entries == board.overdue_entries == []
        own = dashboard.department_dashboard(session=s, actor=world["custody_staff"], department_id=world["custody"])
        assert any(e.code == world["code"] for e in own.no_data_entries + own.overdue_entries) or own.fresh >= 1


def test_a_sharing_request_cannot_name_a_custody_entry(rt: Any, world: dict[str, Any]) -> None:
    with rt.transaction() as s, pytest.raises(NotFound):
        request_access(session=s, actor=world["user"], settings=rt.settings,
                       data=RequestCreate(resource=world["code"], purpose=next(iter(Purpose)), fields=["姓名"],
                                          basis="《四川省数据条例》", use_from=dt.date(2026, 1, 1),
                                          use_until=dt.date(2026, 12, 31)))
    with rt.transaction() as s:
        assert find_resource(s, world["code"]).name == NAME  # it is there, just not shown


def test_api_pages_and_ckan_do_not_show_it(client: Any, rt: Any, world: dict[str, Any], token_for: Any) -> None:
    admin = token_for("opsadmin")
    r = client.get("/api/v1/search", params={"q": NAME}, headers=admin)
    assert r.status_code == 200 and r.json()["hits"] == [] and r.json()["total"] == 0
    assert client.get("/api/v1/resources", params={"limit": 500}, headers=admin).text.count(NAME) == 0
    r = client.get(f"/api/v1/resources/{world['code']}", headers=admin)
    assert r.status_code == 404 and NAME not in r.text
    r = client.get(f"/api/v1/resources/{world['code']}", headers=token_for("exchange_op"))
    assert r.status_code == 200 and r.json()["name"] == NAME
    assert NAME not in client.get("/api/3/action/package_search", params={"q": NAME}).text
    client.post("/login", data={"username": "opsadmin", "password": "Tianfu-Data-7"})
    page = client.get("/catalog", params={"q": NAME})
    assert page.status_code == 200 and world["code"] not in page.text  # (the query itself is echoed)
    assert client.get(f"/catalog/{world['code']}").status_code == 404
    assert client.get("/exchange/new", params={"resource": world["code"]}).status_code == 404
