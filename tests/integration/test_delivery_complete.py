"""Issue #11 item 1: every exit delivers every row it promises, or pages and says where the next page is.

A matrix over every delivery path × format × table size around the page boundaries (999,
1,000, 1,001, 10,001 rows, and 1,000,000 on SQLite) checks the delivered row count *and* a
content hash against the granted view, computed independently of the platform: the rows
are generated here (seeded) and the masking of the one personal column (a mobile number:
``138****5678``) is applied here, in Arrow, not by the platform.

Paths: sharing REST (JSON pages walked through ``next``; CSV, XLSX and Parquet whole;
CSV walked in explicit ``offset``/``limit`` slices through ``Link: rel=next``; CSV narrowed
by a filter), the incremental feed, Delta Sharing (query + file), portal downloads (CSV,
XLSX, JSON, Parquet), CKAN ``datastore_search`` walked through ``_links.next``, the lake
version download and its JSON pages (the provider's raw rows), and the SQL export.

Each size is one world built once per backend (module scope: its own database and data
directory) and shared by all its cases. XLSX is checked up to 10,001 rows: a 1,000,000-row
workbook would take about 30 s to write and 55 s to read back with openpyxl on the test
machine (measured at 100,000 rows × 3 columns: 3.3 s and 5.4 s), past the 30 s budget; the
XLSX row limit is checked without writing one, with the limit scaled to the table (a file
past it is refused, never cut). JSON and CKAN pages of the 1,000,000-row table (1,000 requests
each) are checked at the first, boundary and last pages rather than walked end to end.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, func, select, text

from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.migrate import upgrade
from shudata.db.runtime import Runtime
from shudata.portal import service as portal
from shudata.security.models import User
from shudata.security.schemas import DepartmentCreate, TokenCreate, UserCreate
from shudata.security.service import actor_for, create_department, create_token, create_user
from shudata.sharing import service
from shudata.sharing.models import SharingDelivery
from shudata.sharing.schemas import DecisionCreate, RequestCreate
from shudata.standards.uscc import complete as complete_uscc

SIZES = [999, 1000, 1001, 10_001, 1_000_000]
BIG = 1_000_000
CODE = "401001/000001"
NAME = "联系名录"
COLUMNS = ["序号", "类别", "联系电话"]
KINDS = ["甲类", "乙类", "丙类", "丁类", "戊类", "己类", "庚类", "辛类"]  # nothing a detector takes for personal
SYSTEM = Actor.system()
TODAY = dt.date.today()


# -- the data and its granted view, computed here -----------------------------------------

def generate(n: int, seed: int = 11) -> pa.Table:
    """``n`` rows: a key, a Chinese-named category column and a mobile number (masked when delivered)."""
    rng = np.random.default_rng(seed + n)
    prefixes = pa.array(["138", "139", "137", "150", "186"])
    tail = pc.utf8_lpad(pa.array(rng.integers(0, 10**8, n)).cast(pa.string()), 8, "0")
    phone = pc.binary_join_element_wise(pc.take(prefixes, pa.array(rng.integers(0, 5, n))), tail, "")
    return pa.table({"序号": pa.array(np.arange(1, n + 1, dtype=np.int64)),
                     "类别": pc.take(pa.array(KINDS), pa.array(rng.integers(0, len(KINDS), n))),
                     "联系电话": phone})


def mask_expected(table: pa.Table) -> pa.Table:
    """The granted view as this test expects it: the mobile's middle four digits starred."""
    phone = table.column("联系电话")
    masked = pc.binary_join_element_wise(pc.utf8_slice_codeunits(phone, 0, 3), pa.scalar("****"),
                                         pc.utf8_slice_codeunits(phone, 7, 11), "")
    return table.set_column(2, "联系电话", masked)


def digest(table: pa.Table) -> tuple[int, int]:
    """Row count and an order-independent content hash (DuckDB's row hash summed), over the
    values as text so that every format compares alike."""
    t = table.select(COLUMNS).cast(pa.schema([("序号", pa.int64()), ("类别", pa.string()), ("联系电话", pa.string())]))
    con = duckdb.connect()
    try:
        con.register("t", t)
        n, h = con.execute('SELECT count(*), coalesce(sum(hash("序号", "类别", "联系电话")::HUGEINT), 0) FROM t'
                           ).fetchone()
    finally:
        con.close()
    return int(n), int(h)


# -- reading what was delivered -------------------------------------------------------------

def from_csv(body: bytes) -> pa.Table:
    assert body.startswith(b"\xef\xbb\xbf")
    opts = pacsv.ConvertOptions(column_types={"序号": pa.int64(), "类别": pa.string(), "联系电话": pa.string()})
    return pacsv.read_csv(io.BytesIO(body[3:]), convert_options=opts)


def from_xlsx(body: bytes) -> pa.Table:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(body), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    wb.close()
    assert list(rows[0]) == COLUMNS
    return from_rows(COLUMNS, [list(r) for r in rows[1:]])


def from_parquet(body: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(body))


def from_rows(columns: list[str], rows: list[list[Any]]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    return pa.table({c: pa.array([int(v) if c == "序号" else v for v in col],
                                 pa.int64() if c == "序号" else pa.string()) for c, col in zip(columns, cols,
                                                                                              strict=True)})


def from_records(columns: list[str], records: list[dict[str, Any]]) -> pa.Table:
    return from_rows(columns, [[r[c] for c in columns] for r in records])


# -- one world per (backend, size) ----------------------------------------------------------

@dataclass
class World:
    n: int
    backend: str
    rt: Runtime
    client: Any
    consumer: dict[str, str]
    steward: dict[str, str]
    raw: pa.Table
    granted: pa.Table
    dataset: str

    @property
    def settings(self) -> Settings:
        return self.rt.settings

    def deliveries(self) -> list[SharingDelivery]:
        with self.rt.transaction() as s:
            return list(s.scalars(select(SharingDelivery).order_by(SharingDelivery.id)))


def _database(backend: str, base: Path, request: pytest.FixtureRequest) -> tuple[str, Callable[[], None]]:
    """A migrated database of this world's own (a copy of the SQLite template; a new PostgreSQL database)."""
    if backend == "sqlite":
        target = base / "meta.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}", lambda: None
    pg_base = os.environ.get("SHUDATA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")  # as conftest
    name = f"shudata_t_dc_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # as the shared fixture does: skipped where PostgreSQL is not running
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = pg_base.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url, drop


def build_world(rt: Runtime, n: int, base: Path) -> tuple[pa.Table, dict[str, str], dict[str, str], str]:
    """Provider and consumer departments, an entry with two versions (v1: one row; v2: the ``n``
    generated rows, written through the lake service from a Parquet file), a consumer's grant of
    every column under the default masking profile, and the open-data publication of v2."""
    raw = generate(n)
    src = base / "src.parquet"
    pq.write_table(raw, src, row_group_size=100_000)
    with rt.transaction() as s:
        provider = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="省统计局", uscc=complete_uscc("11510000000000001"), region_code="510000")).id
        consumer = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="省民政厅", uscc=complete_uscc("11510000000000002"), region_code="510000")).id

        def user(name: str, role: Role, dept: int) -> Actor:
            u = create_user(session=s, actor=SYSTEM, data=UserCreate(username=name, display_name=name,
                            password="Tianfu-Data-7", department_id=dept, roles=[role]))
            row = s.get(User, u.id)
            assert row is not None
            return actor_for(row)

        steward, reader = user("p_steward", Role.DATA_STEWARD, provider), user("c_user", Role.DEPT_USER, consumer)
        items = [{"name": c, "data_type": "C", "length": 50, "description": None} for c in COLUMNS]
        s.add(CatalogResource(code=CODE, name=NAME, classification="基础", abstract=NAME,
                              provider_department_id=provider, format_category="数据库", format_type="parquet",
                              information_items=items, sharing_type=2,
                              sharing_condition="仅限业务协同", sharing_method="接口", open_type="无条件开放",
                              update_cycle="每月"))
    with rt.transaction() as s:
        res = find_resource(s, CODE)
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=res,
                      batches_or_table=pa.table({"序号": pa.array([0], pa.int64()), "类别": ["旧类"],
                                                 "联系电话": ["13800000000"]}),
                      source_name="联系名录-旧.parquet", source_format="parquet")
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=res,
                      batches_or_table=pq.ParquetFile(src).iter_batches(65_536), source_name="联系名录.parquet",
                      source_format="parquet")
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=reader, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=COLUMNS, purpose="业务协同", basis="《统计法》", use_from=TODAY,
            use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="approve"))
        pub = portal.publish(session=s, settings=rt.settings, actor=steward, resource=CODE)
        assert pub.status == "published", pub
    with rt.transaction() as s:
        tokens = {}
        for name in ("c_user", "p_steward"):
            tok = create_token(session=s, actor=SYSTEM, data=TokenCreate(expires_in_days=30), username=name)
            tokens[name] = {"Authorization": f"Bearer {tok.token}"}
    return raw, tokens["c_user"], tokens["p_steward"], CODE.replace("/", "-")


@pytest.fixture(scope="module", params=SIZES, ids=[f"{n}rows" for n in SIZES])
def sized(request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    n = request.param
    if n == BIG and backend != "sqlite":
        pytest.skip("the 1,000,000-row table runs on SQLite only (the backend holds no rows, only metadata)")
    from fastapi.testclient import TestClient

    from shudata.web.app import create_app

    base = tmp_path_factory.mktemp(f"delivery-{backend}-{n}")
    url, drop = _database(backend, base, request)
    rt = Runtime.build(Settings(env="test", data_dir=base / "data", database_url=url, query_timeout_s=120))
    try:
        raw, consumer, steward, dataset = build_world(rt, n, base)
        with TestClient(create_app(runtime=rt, migrate=False)) as client:
            yield World(n=n, backend=backend, rt=rt, client=client, consumer=consumer, steward=steward, raw=raw,
                        granted=mask_expected(raw), dataset=dataset)
    finally:
        rt.close()
        drop()


def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text[:2000]
    return r


def assert_same(delivered: pa.Table, expected: pa.Table) -> None:
    got, want = digest(delivered), digest(expected)
    assert got[0] == want[0], f"{got[0]} rows delivered, {want[0]} granted"
    assert got == want, "same row count, different content"


# -- sharing REST ---------------------------------------------------------------------------

def walk_json(w: World, first: str, params: dict[str, Any], *, page_key: str = "rows") -> tuple[pa.Table, int]:
    """Follow ``next`` from the first page to the last; every page states the cap it applied."""
    r = ok(w.client.get(first, params=params, headers=w.consumer))
    pages, parts = 0, []
    while True:
        body = r.json()
        pages += 1
        assert body["limit"] == w.settings.page_size_max
        if pages == 1:  # the cap is stated; next links ask for the page size applied
            assert body["limit_requested"] == params["limit"] and body["limit_capped"]["limit"] == body["limit"]
            assert "SHUDATA_PAGE_SIZE_MAX" in body["limit_capped"]["message"]
        else:
            assert "limit_requested" not in body and "limit_capped" not in body
        assert body["total"] == w.n
        parts.append(from_rows(body["columns"], body[page_key]))
        if body["next"] is None:
            assert body["next_offset"] is None and "link" not in r.headers
            assert body["offset"] + len(body[page_key]) == w.n
            break
        assert body["next_offset"] == body["offset"] + len(body[page_key])
        assert r.headers["link"] == f'<{body["next"]}>; rel="next"'
        r = ok(w.client.get(body["next"], headers=w.consumer))
    return pa.concat_tables(parts), pages


def test_rest_json_pages_cover_every_row_and_state_the_cap(sized: World) -> None:
    w = sized
    if w.n == BIG:  # 1,000 pages: check the first, the boundary and the last instead of walking
        step = w.settings.page_size_max
        first = ok(w.client.get("/api/v1/shared/rows", params={"resource": CODE, "limit": 10_000},
                                headers=w.consumer)).json()
        assert (first["limit"], first["limit_requested"], first["total"], first["next_offset"]) == (step, 10_000, BIG,
                                                                                                    step)
        assert_same(from_rows(first["columns"], first["rows"]), w.granted.slice(0, step))
        last = ok(w.client.get("/api/v1/shared/rows", params={"resource": CODE, "limit": step,
                                                              "offset": BIG - step}, headers=w.consumer))
        assert last.json()["next"] is None and "link" not in last.headers
        assert_same(from_rows(last.json()["columns"], last.json()["rows"]), w.granted.slice(BIG - step))
        return
    got, pages = walk_json(w, "/api/v1/shared/rows", {"resource": CODE, "limit": 10_000})
    assert pages == -(-w.n // w.settings.page_size_max)
    assert_same(got, w.granted)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_rest_file_download_holds_every_granted_row(sized: World, fmt: str) -> None:
    w = sized
    if fmt == "xlsx" and w.n == BIG:
        pytest.skip("XLSX checked up to 10,001 rows (module docstring); its row limit by test_xlsx_past_its_limit")
    before = len(w.deliveries())
    r = ok(w.client.get("/api/v1/shared/rows", params={"resource": CODE, "format": fmt}, headers=w.consumer))
    assert (r.headers["x-shudata-rows"], r.headers["x-shudata-total"]) == (str(w.n), str(w.n))
    assert r.headers["x-shudata-complete"] == "true" and "link" not in r.headers
    got = {"csv": from_csv, "xlsx": from_xlsx, "parquet": from_parquet}[fmt](r.content)
    assert_same(got, w.granted)
    logged = w.deliveries()[before:]
    assert [(d.rows, d.format, d.channel) for d in logged] == [(w.n, fmt, "rest")]  # the real row count


def test_rest_csv_in_explicit_slices_says_so_and_links_the_next(sized: World) -> None:
    w = sized
    size = 4_000 if w.n < BIG else 400_000
    r = ok(w.client.get("/api/v1/shared/rows", params={"resource": CODE, "format": "csv", "offset": 0,
                                                      "limit": size}, headers=w.consumer))
    parts = []
    while True:
        rows, offset = int(r.headers["x-shudata-rows"]), int(r.headers["x-shudata-offset"])
        assert r.headers["x-shudata-total"] == str(w.n)
        assert rows == min(size, w.n - offset)
        assert r.headers["x-shudata-complete"] == ("true" if rows == w.n else "false")
        parts.append(from_csv(r.content))
        assert parts[-1].num_rows == rows
        if "link" not in r.headers:
            assert offset + rows == w.n
            break
        nxt = r.headers["link"].split(">")[0].lstrip("<")
        r = ok(w.client.get(nxt, headers=w.consumer))
    assert_same(pa.concat_tables(parts), w.granted)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rest_download_narrowed_by_a_filter_holds_every_matching_row(sized: World, fmt: str) -> None:
    w = sized
    r = ok(w.client.get("/api/v1/shared/rows", params={"resource": CODE, "format": fmt, "filter": "类别 = '甲类'",
                                                      "sort": "序号 desc"}, headers=w.consumer))
    want = w.granted.filter(pc.equal(w.granted.column("类别"), "甲类"))
    assert r.headers["x-shudata-rows"] == r.headers["x-shudata-total"] == str(want.num_rows)
    got = from_csv(r.content) if fmt == "csv" else from_parquet(r.content)
    assert got.column("序号").to_pylist()[:3] == sorted(want.column("序号").to_pylist(), reverse=True)[:3]
    assert_same(got, want)


def test_xlsx_past_its_limit_is_refused_not_cut(sized: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from shudata.sharing import delivery

    w = sized
    monkeypatch.setattr(delivery, "XLSX_MAX_ROWS", w.n - 1)  # the real limit, 1,048,575, scaled to this table
    # files written by earlier tests under the real limit would be served as prepared: start without them
    shutil.rmtree(w.settings.data_dir / "delivery" / "downloads", ignore_errors=True)
    before = len(w.deliveries())
    r = w.client.get("/api/v1/shared/rows", params={"resource": CODE, "format": "xlsx"}, headers=w.consumer)
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_rows_for_xlsx"
    assert "XLSX" in r.json()["error"]["message"] and "CSV" in r.json()["error"]["message"]
    assert len(w.deliveries()) == before  # nothing delivered, nothing logged


# -- incremental feed -----------------------------------------------------------------------

def test_incremental_feed_is_whole_or_refused(sized: World) -> None:
    w = sized
    r = w.client.get("/api/v1/shared/changes", params={"resource": CODE, "since_version": 1, "key": "序号"},
                     headers=w.consumer)
    if w.n > w.settings.query_max_rows:
        assert r.status_code == 413 and r.json()["error"]["code"] == "changes_too_large"
        return
    body = ok(r).json()
    assert body["version"] == 2
    assert_same(from_rows(body["columns"], body["rows"]), w.granted)  # v1's one row is not in v2: all n changed


# -- Delta Sharing --------------------------------------------------------------------------

def test_delta_sharing_file_holds_every_granted_row(sized: World) -> None:
    w = sized
    with w.rt.transaction() as s:
        dept = s.scalar(select(User.department_id).where(User.username == "c_user"))
    base = f"/delta-sharing/shares/dept_{dept}/schemas/default/tables/r_{CODE.replace('/', '_')}"
    q = ok(w.client.post(f"{base}/query", json={"predicateHints": ["序号 < 5"]}, headers=w.consumer))
    lines = [json.loads(line) for line in q.text.splitlines()]
    files = [line["file"] for line in lines if "file" in line]
    assert len(files) == 1 and json.loads(files[0]["stats"])["numRecords"] == w.n  # predicateHints is a hint
    body = ok(w.client.get(files[0]["url"].replace("http://testserver", ""))).content
    assert_same(from_parquet(body), w.granted)
    assert w.deliveries()[-1].rows == w.n
    # limitHint: the view's first rows (the hint rounded up to a power of two), their count stated
    hinted = ok(w.client.post(f"{base}/query", json={"limitHint": 10}, headers=w.consumer))
    head = [json.loads(line)["file"] for line in hinted.text.splitlines()[2:]]
    assert len(head) == 1 and json.loads(head[0]["stats"])["numRecords"] == 16
    rows = from_parquet(ok(w.client.get(head[0]["url"].replace("http://testserver", ""))).content)
    assert rows.num_rows == 16 and w.deliveries()[-1].rows == 16
    assert_same(rows, from_parquet(body).slice(0, 16))


# -- open data portal and CKAN --------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "parquet"])
def test_portal_download_holds_every_published_row(sized: World, fmt: str) -> None:
    w = sized
    if fmt == "xlsx" and w.n == BIG:
        pytest.skip("XLSX checked up to 10,001 rows (module docstring)")
    r = ok(w.client.get(f"/portal/datasets/{w.dataset}/download.{fmt}"))
    assert r.headers["x-shudata-rows"] == str(w.n)
    if fmt == "json":
        got = from_records(COLUMNS, json.loads(r.content))
    else:
        got = {"csv": from_csv, "xlsx": from_xlsx, "parquet": from_parquet}[fmt](r.content)
    assert_same(got, w.granted)  # the open profile masks the mobile as the sharing profile does


def test_ckan_datastore_search_pages_through_every_row_and_states_the_cap(sized: World) -> None:
    w = sized
    step = w.settings.datastore_rows_max  # CKAN's ckan.datastore.search.rows_max, 32,000
    asked = step + 8_000
    params = {"resource_id": f"{w.dataset}-csv", "limit": asked}
    r = ok(w.client.get("/api/3/action/datastore_search", params=params)).json()["result"]
    parts, seen = [], 0
    while True:
        assert r["limit"] == step and r["limit_requested"] == asked and r["total"] == w.n
        assert r["limit_capped"]["limit"] == step and "SHUDATA_DATASTORE_ROWS_MAX" in r["limit_capped"]["message"]
        parts.append(from_records(COLUMNS, r["records"]))
        seen += len(r["records"])
        if seen >= w.n or (w.n == BIG and seen >= 2 * step):
            break
        assert r["_links"]["next"].endswith(f"offset={seen}")
        r = ok(w.client.get(r["_links"]["next"])).json()["result"]
    if w.n == BIG:  # the last page, reached by offset; then nothing follows
        last = ok(w.client.get("/api/3/action/datastore_search", params={**params, "offset": BIG - step})
                  ).json()["result"]
        assert len(last["records"]) == step and last["limit_capped"]["next_offset"] is None
        assert_same(pa.concat_tables(parts), w.granted.slice(0, 2 * step))
        assert_same(from_records(COLUMNS, last["records"]), w.granted.slice(BIG - step))
        return
    assert r["limit_capped"]["next_offset"] is None
    after = ok(w.client.get(r["_links"]["next"])).json()["result"]  # CKAN's next is always there; it is empty
    assert after["records"] == []
    got = pa.concat_tables(parts)
    assert got.column("序号").to_pylist() == list(range(1, w.n + 1))  # in order, none twice
    assert_same(got, w.granted)


# -- the provider's own reads: lake version and SQL export ----------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_lake_version_download_holds_every_row(sized: World, fmt: str) -> None:
    w = sized
    if fmt == "xlsx" and w.n == BIG:
        pytest.skip("XLSX checked up to 10,001 rows (module docstring)")
    r = ok(w.client.get(f"/api/v1/resources/{CODE}/rows", params={"format": fmt}, headers=w.steward))
    got = {"csv": from_csv, "xlsx": from_xlsx, "parquet": from_parquet}[fmt](r.content)
    assert_same(got, w.raw)  # the provider's own data, unmasked


def test_lake_json_pages_point_at_the_next_and_refuse_a_limit_past_the_maximum(sized: World) -> None:
    w = sized
    step = w.settings.page_size_max
    too_big = w.client.get(f"/api/v1/resources/{CODE}/rows", params={"limit": step + 1}, headers=w.steward)
    assert too_big.status_code == 422 and "SHUDATA_PAGE_SIZE_MAX" in too_big.json()["error"]["message"]
    offsets = range(0, w.n, step) if w.n < BIG else [0, step, BIG - step]
    parts = []
    for offset in offsets:
        body = ok(w.client.get(f"/api/v1/resources/{CODE}/rows", params={"limit": step, "offset": offset},
                               headers=w.steward)).json()
        assert body["total"] == w.n
        assert body["next_offset"] == (offset + step if offset + step < w.n else None)
        parts.append(from_rows(body["columns"], body["rows"]))
    if w.n < BIG:
        assert_same(pa.concat_tables(parts), w.raw)


def test_sql_export_holds_every_row_or_says_it_was_cut(sized: World) -> None:
    w = sized
    r = ok(w.client.post("/api/v1/query", params={"format": "csv"}, headers=w.steward,
                         json={"sql": f'SELECT * FROM "{CODE}" ORDER BY "序号"'}))
    cap = w.settings.query_max_rows
    got = from_csv(r.content)
    if w.n > cap:
        assert r.headers["x-shudata-truncated"] == "true" and r.headers["x-shudata-rows"] == str(cap)
        assert_same(got, w.raw.slice(0, cap))
        return
    assert r.headers["x-shudata-truncated"] == "false" and r.headers["x-shudata-rows"] == str(w.n)
    assert_same(got, w.raw)


# -- quota on whole downloads -----------------------------------------------------------------

def test_row_quota_applies_to_the_whole_download(sized: World) -> None:
    """A row quota below the table refuses the whole file (429) before anything is written, and
    the slice that fits is still served; kept last in the module: it changes the grant."""
    w = sized
    if w.n == BIG:
        pytest.skip("the quota logic does not depend on the size; checked on the smaller tables")
    from shudata.sharing.models import SharingGrant

    with w.rt.transaction() as s:
        grant = s.scalars(select(SharingGrant)).one()
        used = int(s.scalar(select(func.coalesce(func.sum(SharingDelivery.rows), 0))
                            .where(SharingDelivery.grant_id == grant.id)) or 0)
        grant.quota_rows_per_day = used + w.n - 1
    r = w.client.get("/api/v1/shared/rows", params={"resource": CODE, "format": "csv"}, headers=w.consumer)
    assert r.status_code == 429, r.text
    part = ok(w.client.get("/api/v1/shared/rows", params={"resource": CODE, "format": "csv", "limit": w.n - 1},
                           headers=w.consumer))
    assert part.headers["x-shudata-complete"] == "false" and from_csv(part.content).num_rows == w.n - 1


# -- a real public table, end to end ----------------------------------------------------------

REAL = Path(__file__).resolve().parents[1] / "data" / "ingest" / "real" / "moe_higher_education_institutions_2017.xls"
MOE_ITEMS = ["序号", "学校名称", "学校标识码", "主管部门", "所在地", "办学层次", "备注"]


def test_real_table_shared_and_downloaded_as_csv_has_every_row(rt, world, client, token_for):
    """The MOE list of higher-education institutions (2017; 2,631 institutions under 31 section rows,
    2 title rows above the header): uploaded through the ingest path, granted, and downloaded by
    the consumer as CSV — every row of the version, every institution code of the source file."""
    import xlrd

    from shudata.jobs.ingest import ingest_file
    from shudata.sharing import delivery

    sheet = xlrd.open_workbook(REAL).sheet_by_index(0)
    source_codes = {str(sheet.cell_value(i, 2)).strip() for i in range(3, sheet.nrows)} - {""}
    assert len(source_codes) == 2631
    with rt.transaction() as s:
        s.add(CatalogResource(code="401001/000002", name="全国普通高等学校名单", classification="基础",
                              abstract="全国普通高等学校名单", provider_department_id=world.provider,
                              format_category="电子表格", format_type="xls", sharing_type=2,
                              sharing_condition="业务协同",
                              information_items=[{"name": c, "data_type": "C", "length": 200, "description": None}
                                                 for c in MOE_ITEMS],
                              sharing_method="接口", open_type="不予开放", update_cycle="每年"))
    with rt.transaction() as s:
        version = ingest_file(session=s, settings=rt.settings, actor=world.steward, resource_code="401001/000002",
                              path=REAL)
        stored = version.rows
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource="401001/000002", fields=MOE_ITEMS, purpose="业务协同", basis="《高等教育法》",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="approve"))
    assert stored >= 2631 > rt.settings.page_size_max
    got = ok(client.get("/api/v1/shared/rows", params={"resource": "401001/000002", "format": "csv"},
                        headers=token_for("c_user")))
    assert got.headers["x-shudata-rows"] == got.headers["x-shudata-total"] == str(stored)
    table = pacsv.read_csv(io.BytesIO(got.content[3:]),
                           convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in MOE_ITEMS}))
    assert table.num_rows == stored
    assert {c.strip() for c in table.column("学校标识码").to_pylist() if c} == source_codes
    with rt.transaction() as s:  # and the file is exactly the granted view, row for row
        view = delivery.grant_view(session=s, settings=rt.settings, actor=world.user, resource_key="401001/000002")
        masked = pq.read_table(delivery.masked_file(rt.settings, view))
    def text(t: pa.Table) -> list[list[str]]:  # CSV has no NULL: an empty field is "" on both sides
        return [["" if v is None else str(v) for v in row.values()] for row in t.to_pylist()]

    assert text(table) == text(masked)
