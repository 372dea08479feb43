"""No caller-supplied parameter turns a masked value into an oracle (architecture convention 16).

A consumer receives ``公民身份号码`` as ``513221********6433``. Before the fix its own ``filter``
ran on raw values, so ``total`` answered ``LIKE '5132211%'``-style guesses one digit at a
time; the platform admin could do the same with a saved ``pattern`` quality rule and its
failure count. Here: the attacks themselves, then a property test that builds two tables
differing only in one masked value and checks that every parameter of every delivery and
report path (rows with filter/sort/offset/limit in every format, the incremental feed, Delta
Sharing, quality rules and runs) gives the consumer and the admin identical observations.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.types import Role
from support.sharing import PEOPLE, PEOPLE_FIELDS, approve, masked_people, people, request, same_mask

TODAY = dt.date.today()
PROFILE = "share-conditional"
ID = PEOPLE["公民身份号码"][0]  # the value the attacker wants; delivered as 513221********6433
_codes = itertools.count(1)


@dataclass
class Shared:
    code: str
    table: str  # the Delta Sharing table name


def share(rt: Any, world: Any, table: pa.Table, name: str = "人口基础信息") -> Shared:
    """A resource of the provider with ``table`` as version 1 and a changed version 2, a saved
    masking policy, and the consumer's conditional grant (provider's row filter on raw values)."""
    n = next(_codes)
    code = f"209001/{n:06d}"
    with rt.transaction() as s:
        masked_people(s, rt.settings, code, world.provider, table, profile=PROFILE, condition="仅限业务协同", name=name)
        req = request(s, rt.settings, world, code, PEOPLE_FIELDS, basis="《居民身份证法》")
        approve(s, rt.settings, world, req.id, reason="仅成都市", row_filter="行政区划 LIKE '5101%'",
                masking_profile=PROFILE)
    return Shared(code=code, table="r_" + code.replace("/", "_"))


def _rows(client: Any, headers: dict[str, str], code: str, **params: Any) -> Any:
    return client.get("/api/v1/shared/rows", params={"resource": code, **params}, headers=headers)


# -- the attacks ------------------------------------------------------------------------------


def test_like_prefix_probing_of_a_masked_id_learns_nothing(client, rt, world, token_for):
    """The finding's attack: guess the 7th digit with LIKE and read ``total``. Every guess now
    sees the delivered ``513221********6433``, so the right guess answers like the wrong ones."""
    s = share(rt, world, people())
    user = token_for("c_user")
    totals = {}
    for digit in "0123456789":
        r = _rows(client, user, s.code, filter=f"公民身份号码 LIKE '513221{digit}___________'")
        assert r.status_code == 200, r.text
        totals[digit] = r.json()["total"]
    assert set(totals.values()) == {0}  # the true digit "1" included
    assert _rows(client, user, s.code, filter=f"公民身份号码 = '{ID}'").json()["total"] == 0
    masked = _rows(client, user, s.code, filter="公民身份号码 = '513221********6433'").json()
    assert masked["total"] == 1 and masked["rows"][0][:2] == ["513221********6433", "张*"]
    assert _rows(client, user, s.code, filter="姓名 LIKE '张三%'").json()["total"] == 0
    assert _rows(client, user, s.code, filter="姓名 = '张*'").json()["total"] == 1


def test_an_engine_error_on_a_value_quotes_neither_the_raw_nor_the_delivered_one(client, rt, world, token_for):
    """A filter that fails on a value (text compared with a number) is refused with the engine's reason,
    without the value it failed on: not the raw one (the raw table is not in the query) and, since
    a901a7a, not the delivered one either (conversion errors' quoted values are redacted, as the
    refusal is also written to the audit trail)."""
    s = share(rt, world, people())
    r = _rows(client, token_for("c_user"), s.code, filter="公民身份号码 = 513221")
    assert r.status_code == 422
    assert ID not in r.text and "513221********6433" not in r.text
    assert "‘…’" in r.json()["error"]["message"]


def test_sort_orders_delivered_values_and_ties_by_what_is_delivered(client, rt, world, token_for):
    s = share(rt, world, people())
    user = token_for("c_user")
    body = _rows(client, user, s.code, sort="联系电话 desc").json()
    phones = [r[2] for r in body["rows"]]
    assert phones == sorted(phones, reverse=True) and all("****" in p for p in phones)
    asc = _rows(client, user, s.code, sort="姓名").json()["rows"]
    assert asc == sorted(asc, key=lambda r: (r[1], r))  # ties on 姓名: by the delivered row, nothing else
    bad = _rows(client, user, s.code, sort="身份证 desc")
    assert bad.status_code == 422 and "身份证" in bad.json()["error"]["message"]


def test_a_filter_on_an_ungranted_column_is_refused(client, rt, world, token_for):
    s = share(rt, world, people())
    r = _rows(client, token_for("c_user"), s.code, filter="住址 LIKE '成都%'")
    assert r.status_code == 422 and "住址" in r.json()["error"]["message"]


@pytest.fixture
def admin(make_user, token_for) -> dict[str, str]:
    """A platform admin with no role in any department (the finding's second attacker)."""
    make_user("ops_admin", Role.PLATFORM_ADMIN)
    return token_for("ops_admin")


def test_admin_regex_rule_on_another_department_is_refused_and_audited(client, rt, world, admin):
    """The finding's second attack: the platform admin saves a pattern rule per guess and reads
    the failure count. Saving, running and reading are refused (403, audited)."""
    s = share(rt, world, people())
    base = f"/api/v1/quality/resources/{s.code}"
    probe = {"spec": [{"type": "regex", "column": "公民身份号码", "pattern": "^5132211"}]}
    answers = [client.put(base + "/rules", json=probe, headers=admin), client.post(base + "/check", headers=admin),
               client.get(base + "/runs", headers=admin), client.get(base + "/rules", headers=admin)]
    assert [a.status_code for a in answers] == [403] * 4
    assert "平台管理员也不例外" in answers[0].json()["error"]["message"]
    with rt.transaction() as db:
        denied = db.scalars(select(AuditEntry).where(AuditEntry.actor == "ops_admin")).all()
    assert [e.outcome for e in denied] == ["denied"] * 4


# -- the property: two tables differing in one masked value look the same -----------------------


def _probes(column: str, guess: str) -> list[str]:
    """Filters an attacker would try with a guessed raw value (and the masked one)."""
    return [f"{column} = '{guess}'", f"{column} LIKE '{guess[:7]}%'", f"{column} > '{guess}'",
            f"{column} BETWEEN '{guess[:4]}' AND '{guess}'", f"{column} IN ('{guess}', 'x') OR 姓名 = '李*'",
            f"NOT ({column} < '{guess}')", f"{column} LIKE '%{guess[-3:]}'", "公民身份号码 > 5", f"{column} = 1"]


def _normal(text: str, s: Shared) -> str:
    # the code appears as it is and, URL-encoded, in the next-page link
    return text.replace(s.code, "<code>").replace(quote(s.code, safe=""), "<code>").replace(s.table, "<table>")


def _download(fmt: str, content: bytes) -> Any:
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(content)).to_pylist()
    if fmt == "xlsx":
        return [[c.value for c in row] for row in load_workbook(io.BytesIO(content)).active.iter_rows()]
    return content


def observe(client: Any, headers: dict[str, str], admin: dict[str, str], s: Shared, column: str,
            guess: str) -> list[Any]:
    """Everything the consumer (and the admin) can see of ``s`` through every parameter."""
    seen: list[Any] = []

    def keep(r: Any, body: Any = None) -> None:
        seen.append((r.status_code, _normal(r.text, s) if body is None else body))

    for flt in [None, *_probes(column, guess)]:
        for sort in [None, f"{column} desc, 姓名"]:
            params = {k: v for k, v in {"filter": flt, "sort": sort}.items() if v is not None}
            keep(_rows(client, headers, s.code, **params))
        keep(_rows(client, headers, s.code, offset=1, limit=1, version=1, **({"filter": flt} if flt else {})))
        # the SQL sandbox and the workbench read the grant's masked file: the same probes as WHERE clauses
        sql = f'SELECT * FROM "{s.code}"' + (f" WHERE {flt}" if flt else "") + f" ORDER BY {column}, 姓名"
        for path, body in (("/api/v1/query", {"sql": sql}), ("/api/v1/query/runs", {"sql": sql, "record": False})):
            r = client.post(path, json=body, headers=headers)
            keep(r, [r.json()[k] for k in ("columns", "rows", "total")] if r.status_code == 200 else None)
    for fmt in ("csv", "xlsx", "parquet"):
        r = _rows(client, headers, s.code, format=fmt, filter=f"{column} LIKE '{guess[:2]}%'", sort=column)
        keep(r, _download(fmt, r.content) if r.status_code == 200 else _normal(r.text, s))
    for key in PEOPLE_FIELDS:
        keep(client.get("/api/v1/shared/changes", params={"resource": s.code, "since_version": 1, "key": key},
                        headers=headers))
    seen.extend(_delta_sharing(client, headers, s, column, guess))
    base = f"/api/v1/quality/resources/{s.code}"
    for who in (headers, admin):
        keep(client.put(base + "/rules", json={"spec": [{"type": "regex", "column": column,
                                                         "pattern": "^" + guess[:7]}]}, headers=who))
        keep(client.post(base + "/check", headers=who))
        keep(client.get(base + "/runs", headers=who))
    return seen


def _delta_sharing(client: Any, headers: dict[str, str], s: Shared, column: str, guess: str) -> list[Any]:
    """The table query with predicate and limit hints, and the file it points to."""
    share_name = client.get("/delta-sharing/shares", headers=headers).json()["items"][0]["name"]
    url = f"/delta-sharing/shares/{share_name}/schemas/default/tables/{s.table}/query"
    body = {"predicateHints": [f"{column} = '{guess}'"], "limitHint": 1,
            "jsonPredicateHints": json.dumps({"op": "equal", "children": [
                {"op": "column", "name": column, "valueType": "string"},
                {"op": "literal", "value": guess, "valueType": "string"}]})}
    r = client.post(url, json=body, headers=headers)
    out: list[Any] = [r.status_code]
    lines = [json.loads(line) for line in r.text.splitlines() if line]
    for line in lines:
        if "file" in line:
            f = dict(line["file"])
            data = client.get("/delta-sharing" + f.pop("url").split("/delta-sharing", 1)[1])
            out.append(pq.read_table(io.BytesIO(data.content)).to_pylist())
            f.pop("id"), f.pop("expirationTimestamp", None)
            out.append(f)
        elif "metaData" in line:
            m = dict(line["metaData"])
            m.pop("id")
            out.append(_normal(json.dumps(m, ensure_ascii=False, sort_keys=True), s))
        else:
            out.append(line)
    return out


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_two_tables_differing_in_a_masked_value_are_indistinguishable(client, rt, world, token_for, admin, data):
    column, a, b = data.draw(same_mask())
    user = token_for("c_user")
    left, right = share(rt, world, people({column: a})), share(rt, world, people({column: b}))
    # The attacker's guesses are the left table's true value: a yes there, a no on the right.
    assert observe(client, user, admin, left, column, a) == observe(client, user, admin, right, column, a)


def test_the_property_test_can_fail(client, rt, world, token_for, admin):
    """Sanity check of the comparison: a value the grant delivers unmasked *is* told apart."""
    user = token_for("c_user")
    left = share(rt, world, people({"行政区划": "510104"}))
    right = share(rt, world, people({"行政区划": "510108"}))
    assert observe(client, user, admin, left, "行政区划", "510104") != observe(client, user, admin, right,
                                                                           "行政区划", "510104")


def test_the_property_catches_filters_on_raw_values(client, rt, world, token_for, admin, monkeypatch):
    """With the caller's filter put back inside the masked view (on raw values, as before the
    fix) the same comparison tells the two tables apart: the property test guards the fix."""
    import sqlglot

    from shudata.query.engines.base import Limits
    from shudata.sharing import delivery

    def leaky_fetch_page(*, session, settings, actor, view, offset, limit, channel="rest", filter=None, sort=None):
        if filter is None:
            return real_fetch_page(session=session, settings=settings, actor=actor, view=view, offset=offset,
                                   limit=limit, channel=channel)
        raw = sqlglot.parse_one(view.sql, read="duckdb").where(sqlglot.parse_one(filter, read="duckdb"))
        sql = raw.sql("duckdb")
        engine, lim = view.engine(settings), Limits(timeout_s=30)
        page = engine.query(f"SELECT * FROM ({sql}) AS g LIMIT {limit} OFFSET {offset}", view.tables, lim)
        total = engine.query(f"SELECT count(*) FROM ({sql}) AS g", view.tables, lim).column(0)[0].as_py()
        return page, int(total)

    real_fetch_page = delivery.fetch_page
    monkeypatch.setattr(delivery, "fetch_page", leaky_fetch_page)
    user = token_for("c_user")
    left = share(rt, world, people({"公民身份号码": ID}))
    right = share(rt, world, people({"公民身份号码": "513221198807076433"}))
    assert observe(client, user, admin, left, "公民身份号码", ID) != observe(client, user, admin, right,
                                                                         "公民身份号码", ID)


# -- the SQL sandbox: a caller's WHERE / ORDER BY / GROUP BY sees the rewritten values ---------


@pytest.mark.parametrize("sql", [
    "SELECT count(*) AS n FROM people WHERE id_no LIKE '5132211%'",  # prefix probe on the hidden digits
    "SELECT count(*) AS n FROM people WHERE id_no = '513221199001016433'",
    "SELECT id_no, count(*) AS n FROM people GROUP BY id_no ORDER BY id_no",
    "SELECT region FROM people ORDER BY id_no, region",
    "SELECT count(*) AS n FROM people p JOIN people q ON p.id_no = q.id_no",
])
def test_sandbox_predicates_see_masked_values_but_the_providers_row_filter_sees_raw(tmp_path, sql):
    """An access rule (masking, grant) replaces the column inside a subquery, so the caller's
    clauses run on what it is shown; the provider's own row filter still runs on raw values."""
    from sqlglot import parse_one

    from shudata.query.access import ResolvedTable, TableAccess
    from shudata.query.engines.base import TableSource
    from shudata.query.engines.duckdb import DuckDBEngine
    from shudata.query.sandbox import compile_sandboxed

    access = TableAccess(row_filter=parse_one("region LIKE '5101%'"),
                         column_exprs={"id_no": parse_one("left(id_no, 6) || '********' || right(id_no, 4)")})
    tables = {"people": ResolvedTable("s_1", ("id_no", "region"), access)}
    engine = DuckDBEngine(threads=1, memory_limit="256MB")
    answers = []
    for i, hidden in enumerate(("199001016433", "198807076433")):
        path = tmp_path / f"{i}.parquet"
        pq.write_table(pa.table({"id_no": ["513221" + hidden, "510104198503120021", "440104198503120021"],
                                 "region": ["510104", "510105", "440104"]}), path)
        answers.append(engine.query(compile_sandboxed(sql, tables), {"s_1": TableSource("s_1", [path])}).to_pylist())
    assert answers[0] == answers[1]
    assert "440104" not in str(answers[0])  # the provider's filter on the raw region still applies
