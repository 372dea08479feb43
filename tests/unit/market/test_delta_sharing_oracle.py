"""No part of a market share turns a masked value into an oracle (issue 16, architecture convention 16).

Two products whose source tables differ only in one value that the entitlement's masking profile
(``trade``) delivers identically must look the same to the buyer through every Delta Sharing call —
list calls, metadata, the version, and table queries with limit hints, SQL and JSON predicate hints
(a guess of the raw value) and time travel, down to the bytes of each file served. A sanity test
shows the comparison does tell apart a value the entitlement delivers unmasked.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shudata.market.delivery import service
from shudata.market.delivery.sharing import share_name, share_token
from support.market import MarketWorld, delivering, market_world, sold
from support.sharing import PEOPLE, PEOPLE_FIELDS, masked_people, people, same_mask

PROFILE = "trade"
BASE = {**PEOPLE, "行政区划": ["510104", "510104", "510105", "610106"]}  # the last row outside the filter
_codes = itertools.count(1)


_DEPARTMENTS: dict[str, int] = {}


def _departments(rt: Any, make_department: Any) -> int:
    """The provider department, once per test database."""
    key = str(rt.settings.data_dir)
    if key not in _DEPARTMENTS:
        _DEPARTMENTS[key] = make_department("省公安厅")
    return _DEPARTMENTS[key]


def bought(rt: Any, world: MarketWorld, dept: int, table: pa.Table) -> tuple[dict[str, str], str, str]:
    """A product over a new entry holding ``table`` (then a second version with one more row), a saved
    ``trade`` masking policy, and the buyer's online order with a row filter on raw values; the buyer's
    share-token header, share and table names."""
    n = next(_codes)
    code = f"209101/{n:06d}"
    with rt.transaction() as s:
        res = masked_people(s, rt.settings, code, dept, table, profile=PROFILE, condition="仅限授权运营")
        product, plan = sold(s, world, f"P-OR-{n}", sources=[res.id], name="人口基础信息",
                             sheet={"fields_delivered": PEOPLE_FIELDS}, masking_profile=PROFILE)
        order = delivering(s, world, product, plan, f"O-OR-{n}", purpose="核验")
        ent = service.open_entitlement(s, order)
        ent.row_filter = "行政区划 LIKE '5101%'"
        token = share_token(s, rt.settings, ent)
        return {"Authorization": f"Bearer {token}"}, share_name(ent), "r_" + code.replace("/", "_")


def _normal(text: str, share: str, table: str) -> str:
    """Names and ids are the product's and the order's, not the data's: they are set aside."""
    return re.sub(r'"id":"m\d+-\d+"', '"id":"<id>"', text.replace(share, "<share>").replace(table, "<table>"))


def _probes(column: str, guess: str) -> list[dict[str, Any]]:
    """Query bodies an attacker would send with a guessed raw value."""
    json_hint = json.dumps({"op": "equal", "children": [{"op": "column", "name": column, "valueType": "string"},
                                                        {"op": "literal", "value": guess, "valueType": "string"}]})
    return [{}, {"limitHint": 0}, {"limitHint": 1}, {"limitHint": 2}, {"limitHint": 3, "version": 1},
            {"predicateHints": [f"{column} = '{guess}'"]},
            {"predicateHints": [f"{column} LIKE '{guess[:4]}%'", f"{column} > '{guess}'"], "limitHint": 1},
            {"jsonPredicateHints": json_hint}, {"jsonPredicateHints": json_hint, "limitHint": 1, "version": 2},
            {"predicateHints": ["住址 = 'x'"]}]  # a field outside the entitlement: refused either way


def observe(client: Any, headers: dict[str, str], share: str, table: str, column: str, guess: str) -> list[Any]:
    seen: list[Any] = []
    base = f"/delta-sharing/shares/{share}/schemas/default/tables/{table}"
    for path in ("/delta-sharing/shares", f"/delta-sharing/shares/{share}/all-tables"):
        r = client.get(path, headers=headers)
        seen.append((r.status_code, _normal(r.text, share, table)))
    r = client.get(f"{base}/version", headers=headers)
    seen.append((r.status_code, r.headers.get("Delta-Table-Version")))
    for body in _probes(column, guess):
        r = client.post(f"{base}/query", json=body, headers=headers)
        seen.append((r.status_code, r.headers.get("Delta-Table-Version")))
        for line in (json.loads(x) for x in r.text.splitlines() if x):
            if "file" in line:
                f = dict(line["file"])
                data = client.get("/delta-sharing" + f.pop("url").split("/delta-sharing", 1)[1])
                seen.append((data.status_code, pq.read_table(io.BytesIO(data.content)).to_pylist(), data.content))
                f.pop("id"), f.pop("expirationTimestamp"), f.pop("timestamp", None)
                seen.append(f)
            elif "metaData" in line:
                m = dict(line["metaData"])
                m.pop("id")
                seen.append(_normal(json.dumps(m, ensure_ascii=False, sort_keys=True), share, table))
            else:
                seen.append(_normal(json.dumps(line, ensure_ascii=False, sort_keys=True), share, table))
    return seen


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_two_products_differing_in_a_masked_value_are_indistinguishable(client, rt, make_user, make_department,
                                                                       data):
    world = _world(rt, make_user)
    dept = _departments(rt, make_department)
    column, a, b = data.draw(same_mask())
    left, right = bought(rt, world, dept, people({column: a}, BASE)), bought(rt, world, dept, people({column: b}, BASE))
    # the guess is the left table's true value: a yes there, a no on the right — yet nothing differs
    assert observe(client, *left, column, a) == observe(client, *right, column, a)


def test_the_property_test_can_fail(client, rt, make_user, make_department):
    """Sanity check: a value the entitlement delivers unmasked is told apart."""
    world = _world(rt, make_user)
    dept = _departments(rt, make_department)
    left = bought(rt, world, dept, people({"行政区划": "510104"}, BASE))
    right = bought(rt, world, dept, people({"行政区划": "510108"}, BASE))
    assert observe(client, *left, "行政区划", "510104") != observe(client, *right, "行政区划", "510104")


def test_the_masked_values_are_what_is_served(client, rt, make_user, make_department):
    world = _world(rt, make_user)
    headers, share, table = bought(rt, world, _departments(rt, make_department), people({}, BASE))
    r = client.post(f"/delta-sharing/shares/{share}/schemas/default/tables/{table}/query", json={}, headers=headers)
    url = json.loads(r.text.splitlines()[2])["file"]["url"]
    rows = pq.read_table(io.BytesIO(client.get("/delta-sharing" + url.split("/delta-sharing", 1)[1]).content))
    assert rows.column_names == PEOPLE_FIELDS
    assert {"公民身份号码": "513221********6433", "姓名": "张*", "联系电话": "138****5678",
            "行政区划": "510104"} in rows.to_pylist()
    assert rows.num_rows == 4  # 610106 is outside the row filter; version 2's extra row is in it


_WORLDS: dict[str, MarketWorld] = {}


def _world(rt: Any, make_user: Any) -> MarketWorld:
    """One market world per test database (hypothesis runs the test body many times on one)."""
    key = str(rt.settings.data_dir)
    if key not in _WORLDS:
        _WORLDS[key] = market_world(rt, make_user)
    return _WORLDS[key]
