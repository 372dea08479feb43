"""The Delta Sharing change data feed: what changed between two versions' delivered rows (table
of cases over the SQL that computes it), the change file prepared when a version lands, and the
refusals — no declared key, a key the grant does not deliver, columns that changed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor
from shudata.quality.service import save_rule_set
from shudata.query.engines.base import TableSource
from shudata.query.service import default_engine
from shudata.sharing import prepare, service
from shudata.sharing.delta_sharing.changes import changes_sql
from shudata.sharing.models import SharingDelivery, SharingGrant
from shudata.sharing.schemas import DecisionCreate, RequestCreate

TODAY = dt.date.today()
CODE = "201001/000002"
USCC, REP, PHONE = "统一社会信用代码", "法定代表人", "联系电话"


def _diff(settings: Any, tmp_path: Any, key: tuple[str, ...], prev: dict[str, list[Any]],
          cur: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    pq.write_table(pa.table(prev), tmp_path / "prev.parquet")
    pq.write_table(pa.table(cur), tmp_path / "cur.parquet")
    out = default_engine(settings).query(changes_sql(key, list(cur)), {
        "prev": TableSource(name="prev", files=[tmp_path / "prev.parquet"]),
        "cur": TableSource(name="cur", files=[tmp_path / "cur.parquet"])})
    return [tuple(r.values()) for r in out.to_pylist()]


CASES = [
    # an update, a delete, an insert; the unchanged row is not reported
    (("k",), {"k": [1, 2, 3], "v": ["a", "b", "c"]}, {"k": [1, 3, 4], "v": ["a", "C", "d"]},
     [(2, "b", "delete"), (3, "C", "update_postimage"), (3, "c", "update_preimage"), (4, "d", "insert")]),
    # a key twice on one side (a masked key that collides): delete and insert, never a wrong pairing
    (("k",), {"k": [1, 1], "v": ["a", "b"]}, {"k": [1], "v": ["c"]},
     [(1, "a", "delete"), (1, "b", "delete"), (1, "c", "insert")]),
    # a NULL key is a key like another
    (("k",), {"k": [None, 2], "v": ["a", "b"]}, {"k": [None, 2], "v": ["z", "b"]},
     [(None, "a", "update_preimage"), (None, "z", "update_postimage")]),
    # a composite key: (1, x) changes, (1, y) is new
    (("k", "j"), {"k": [1], "j": ["x"], "v": [1]}, {"k": [1, 1], "j": ["x", "y"], "v": [2, 3]},
     [(1, "x", 1, "update_preimage"), (1, "x", 2, "update_postimage"), (1, "y", 3, "insert")]),
    # identical versions: nothing changed
    (("k",), {"k": [1], "v": ["a"]}, {"k": [1], "v": ["a"]}, []),
]


@pytest.mark.parametrize(("key", "prev", "cur", "expected"), CASES)
def test_changes_between_two_versions(settings, tmp_path, key, prev, cur, expected):
    got = _diff(settings, tmp_path, key, prev, cur)
    assert sorted(got, key=repr) == sorted(expected, key=repr)


def _version(rt: Any, rows: pa.Table, code: str = CODE) -> None:
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, code),
                      batches_or_table=rows, source_name="企业.csv", source_format="csv")
        prepare.after_version(s, rt.settings, find_resource(s, code).id)


def _grant(rt: Any, world: Any, fields: list[str]) -> int:
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=fields, purpose="业务协同", basis="《税收征收管理法》",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="approve", reason="同意"))
        return int(s.scalar(select(SharingGrant.id).where(SharingGrant.request_id == r.id)))


def _key(rt: Any, world: Any, columns: list[str]) -> None:
    with rt.transaction() as s:
        save_rule_set(session=s, actor=world.steward, resource=CODE, spec=[{"type": "unique", "columns": columns}])


V1 = pa.table({USCC: ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B"], REP: ["张三", "李四"],
               PHONE: ["13812345678", "13912345678"]})
V2 = pa.table({USCC: ["91510100MA6CB8AG5D", "91510100MA6CB8AG8W"], REP: ["张三丰", "孙七"],
               PHONE: ["13812345678", "13512345678"]})


def test_a_new_version_prepares_its_masked_change_file(rt, world):
    _version(rt, V1)
    _key(rt, world, [USCC])
    grant = _grant(rt, world, [USCC, REP])
    assert prepare.wait(timeout=60)
    _version(rt, V2)
    assert prepare.wait(timeout=60)
    [change] = sorted((rt.settings.data_dir / "delivery" / f"g{grant}").glob("c2-*.parquet"))
    rows = pq.read_table(change).to_pylist()
    assert rows == [  # masked as delivered (法定代表人 keeps its first character), 联系电话 not granted
        {USCC: "91510100MA6CB8AG5D", REP: "张*", "_change_type": "update_preimage"},
        {USCC: "91510100MA6CB8AG5D", REP: "张**", "_change_type": "update_postimage"},
        {USCC: "91510100MA6CB8AG6B", REP: "李*", "_change_type": "delete"},
        {USCC: "91510100MA6CB8AG8W", REP: "孙*", "_change_type": "insert"}]


def _changes(client: Any, world: Any, headers: dict[str, str], **params: Any) -> Any:
    url = f"/delta-sharing/shares/dept_{world.consumer}/schemas/default/tables/r_201001_000002/changes"
    return client.get(url, params=params, headers=headers)


@pytest.mark.parametrize(("key", "fields", "code"), [
    (None, [USCC, REP], "CDF_NO_KEY"),  # no unique rule: no declared key
    ([PHONE], [USCC, REP], "CDF_KEY_NOT_GRANTED"),  # the key is a field the grant does not deliver
])
def test_changes_are_refused_with_a_reason(rt, world, client, token_for, key, fields, code):
    _version(rt, V1)
    if key:
        _key(rt, world, key)
    _grant(rt, world, fields)
    _version(rt, V2)
    r = _changes(client, world, token_for("c_user"), startingVersion=1)
    assert r.status_code == 400 and r.json()["errorCode"] == code
    assert r.json()["error"]["code"] == code.lower() and "主键" in r.json()["message"]
    meta = client.get(f"/delta-sharing/shares/dept_{world.consumer}/schemas/default/tables/r_201001_000002/metadata",
                      headers=token_for("c_user"))
    assert json.loads(meta.text.splitlines()[1])["metaData"]["configuration"] == {}  # no feed offered


def test_changed_columns_are_refused_and_later_versions_still_served(rt, world, client, token_for):
    _version(rt, V1)
    _key(rt, world, [USCC])
    _grant(rt, world, [USCC, REP])
    _version(rt, V2.set_column(1, REP, pa.array([1, 2])))  # 法定代表人 becomes a number in version 2
    _version(rt, V2.set_column(1, REP, pa.array([1, 3])))
    headers = token_for("c_user")
    r = _changes(client, world, headers, startingVersion=1)
    assert r.status_code == 400 and r.json()["errorCode"] == "CDF_SCHEMA_CHANGED"
    assert "startingVersion=3" in r.json()["message"]
    ok = _changes(client, world, headers, startingVersion=3)
    assert ok.status_code == 200 and [next(iter(json.loads(x))) for x in ok.text.splitlines()] == [
        "protocol", "metaData", "cdf"]
    with rt.transaction() as s:  # the delivery is logged with the change rows served (one update: 2 rows)
        last = s.scalars(select(SharingDelivery).order_by(SharingDelivery.id.desc())).first()
        assert (last.channel, last.rows, last.version) == ("delta-sharing-cdf", 2, 3)


def test_a_change_hidden_by_the_masking_is_not_observable(rt, world, client, token_for):
    """张三 → 张四 is delivered as 张* both times: the feed of version 2 holds no file, exactly as
    if nothing had changed (architecture convention 16)."""
    _version(rt, V1)
    _key(rt, world, [USCC])
    _grant(rt, world, [USCC, REP])
    _version(rt, V1.set_column(1, REP, pa.array(["张四", "李四"])))
    r = _changes(client, world, token_for("c_user"), startingVersion=2)
    assert r.status_code == 200 and len(r.text.splitlines()) == 2  # protocol and metaData, no change file
    assert json.loads(r.text.splitlines()[1])["metaData"]["numFiles"] == 0


def test_a_streaming_query_is_pointed_to_the_change_feed(rt, world, client, token_for):
    _version(rt, V1)
    _grant(rt, world, [USCC, REP])
    url = f"/delta-sharing/shares/dept_{world.consumer}/schemas/default/tables/r_201001_000002/query"
    r = client.post(url, json={"startingVersion": 1}, headers=token_for("c_user"))
    assert r.status_code == 400 and r.json()["errorCode"] == "QUERY_STARTING_VERSION_UNSUPPORTED"
    assert "/changes" in r.json()["message"]
