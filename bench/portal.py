"""Open-data portal benchmarks over the CKAN-compatible Action API (issue 6).

    .venv/bin/python bench/portal.py            # 100,000 datasets, 1,000,000 rows
    .venv/bin/python bench/portal.py --quick    # 5,000 datasets, 50,000 rows, 5 s per server

1. ``portal.search_p95_ms``: ``package_search`` latency over HTTP with 100,000 published
   datasets (catalog entries generated as in ``bench/search.py``, bulk-loaded with their
   portal rows, all serving one small published file). One keep-alive client, one request
   at a time, a query mix of text searches, text + ``fq`` filters, and browsing with facets.
   Baseline in the same run: a naive ``LIKE`` scan over names and abstracts of the visible
   datasets (in process, no HTTP). Target ≤ 50 ms.
2. ``portal.datastore_ratio_vs_datasette``: ``datastore_search`` rows/s vs Datasette's JSON
   API on the same 1,000,000-row table (the published, masked Parquet file, also loaded into
   SQLite for Datasette), same client (``bench/api.py``'s: 16 concurrent connections, 1,000-row
   pages at random offsets, every page parsed), single server process each. Target ≥ 1.5.

Prints one JSON line per figure at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import insert, or_, select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import api as api_bench  # noqa: E402  (bench/api.py: Datasette, server start, table generator)
import search as search_bench  # noqa: E402  (bench/search.py: 100k catalog entries)

from shudata.catalog.access import find_resource  # noqa: E402
from shudata.catalog.models import CatalogResource  # noqa: E402
from shudata.catalog.schemas import ResourceCreate  # noqa: E402
from shudata.catalog.service import register_resource  # noqa: E402
from shudata.catalog.writes import write_version  # noqa: E402
from shudata.core.config import Settings  # noqa: E402
from shudata.core.types import Actor  # noqa: E402
from shudata.db.runtime import Runtime  # noqa: E402
from shudata.portal import service as P  # noqa: E402
from shudata.portal.models import PortalDataset, PortalPublication  # noqa: E402
from shudata.security.models import Department  # noqa: E402
from shudata.standards.uscc import complete  # noqa: E402

OUT = HERE / "out"
SYSTEM = Actor.system()
THEMES = ["人口", "法人", "经济运行", "生态环境", "交通运输", "教育科技", "医疗卫生", "社会保障", "文化旅游",
          "城乡建设", "农业农村", "公共安全", "财税金融", "资源能源", "市场监管"]
PAGE = api_bench.PAGE
CONNECTIONS = api_bench.CONNECTIONS


def env_for(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "SHUDATA_DATA_DIR": str(data_dir), "SHUDATA_ENV": "test",
            "SHUDATA_PORTAL_RATE_IP_PER_MIN": "0", "SHUDATA_PORTAL_RATE_KEY_PER_MIN": "0"}


def serve(data_dir: Path, name: str) -> tuple[Any, str]:
    port = api_bench.free_port()
    proc = api_bench.start([sys.executable, "-m", "uvicorn", "--factory", "shudata.web.app:create_app", "--port",
                            str(port), "--log-level", "warning", "--no-access-log"],
                           f"http://127.0.0.1:{port}/api/v1/health", OUT / f"portal-{name}.log", env_for(data_dir))
    return proc, f"http://127.0.0.1:{port}"


# -- 1. package_search over 100,000 datasets --------------------------------------------------------

def small_published(rt: Runtime, dept_id: int) -> PortalPublication:
    """One real entry published through the gate: the file every generated dataset serves."""
    t = pa.table({"地区": ["成都市", "绵阳市", "德阳市"], "年份": pa.array([2023, 2023, 2023], pa.int64()),
                  "数值": [1.5, 2.5, 3.5]})
    with rt.transaction() as s:
        res = register_resource(session=s, actor=SYSTEM, data=ResourceCreate.model_validate({
            "code": "999001/000001", "name": "基准测试样例数据", "abstract": "基准测试",
            "provider_department_id": dept_id, "information_items": [
                {"name": "地区"}, {"name": "年份", "data_type": "I"}, {"name": "数值", "data_type": "F"}],
            "sharing": {"type": 1, "method": "接口"}, "open": {"type": "无条件开放"}}))
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=find_resource(s, res.code),
                      batches_or_table=t, source_name="bench", source_format="parquet")
    with rt.transaction() as s:
        P.publish(session=s, settings=rt.settings, actor=SYSTEM, resource=res.code)
        pub = s.scalar(select(PortalPublication).where(PortalPublication.status == "published"))
        assert pub is not None
        s.expunge(pub)
    return pub


def load_datasets(rt: Runtime, n: int) -> tuple[list[dict[str, Any]], float]:
    depts, entries = search_bench.generate(n)
    rnd = random.Random(6)
    for e in entries:
        e["open_type"] = "有条件开放" if rnd.random() < 0.2 else "无条件开放"
        e["category_path"] = f"{rnd.choice(THEMES)}/{e['name'][:20]}"
        e["tags"] = rnd.sample(THEMES, 2)
    t0 = time.perf_counter()
    search_bench.load(rt, depts, entries)
    pub = small_published(rt, 1)
    now = P.utcnow()
    datasets, pubs = [], []
    for i, e in enumerate(entries):
        published = now.replace(microsecond=0) - dt.timedelta(minutes=i)
        datasets.append({"resource_id": e["id"], "name": e["code"].replace("/", "-").lower(), "status": "published",
                         "version": 1, "theme": e["category_path"].split("/")[0], "first_published_at": published,
                         "published_at": published, "views": rnd.randint(0, 5000), "downloads": rnd.randint(0, 500),
                         "api_calls": rnd.randint(0, 2000)})
        pubs.append({"resource_id": e["id"], "version": 1, "status": "published", "policy": pub.policy,
                     "gate": pub.gate, "operators": pub.operators, "file": pub.file, "rows": pub.rows,
                     "bytes": pub.bytes, "sha256": pub.sha256, "columns": pub.columns, "created_at": published,
                     "created_by": "bench"})
    with rt.transaction() as s:
        res = CatalogResource.__table__
        for i in range(0, len(entries), 5000):
            chunk = entries[i:i + 5000]
            for e in chunk:
                s.connection().execute(res.update().where(res.c.id == e["id"]).values(
                    open_type=e["open_type"], category_path=e["category_path"], tags=e["tags"]))
            s.execute(insert(PortalDataset), datasets[i:i + 5000])
            s.execute(insert(PortalPublication), pubs[i:i + 5000])
    return entries, time.perf_counter() - t0


def search_mix(entries: list[dict[str, Any]], count: int, org_names: list[str]) -> list[dict[str, Any]]:
    rnd = random.Random(11)
    texts = search_bench.query_mix(entries, count)
    out: list[dict[str, Any]] = []
    for i, q in enumerate(texts):
        kind = i % 4
        if kind in (0, 1):  # text search
            out.append({"q": q, "rows": 10})
        elif kind == 2:  # text + filters
            out.append({"q": q, "fq": f"groups:{rnd.choice(THEMES)}", "rows": 10})
        else:  # browsing: filters, facets, sorting, paging
            fq = rnd.choice([f"organization:{rnd.choice(org_names)}", f"groups:{rnd.choice(THEMES)}",
                             "license_id:cc-by-4.0", f"tags:{rnd.choice(THEMES)}"])
            out.append({"fq": fq, "rows": 20, "start": rnd.choice([0, 20, 100]),
                        "sort": rnd.choice(["metadata_modified desc", "views_recent desc", "score desc"]),
                        "facet.field": '["organization", "groups", "license_id"]'})
    return out


def bench_search(n: int, nq: int, tmp: Path) -> dict[str, float]:
    data = tmp / "search"
    rt = Runtime.build(Settings(env="test", data_dir=data))
    rt.migrate()
    entries, load_s = load_datasets(rt, n)
    with rt.sessions() as s:
        orgs = [str(u).lower() for u in s.scalars(select(Department.uscc).limit(200))]
    queries = search_mix(entries, nq, orgs)
    proc, url = serve(data, "search")
    lat: list[float] = []
    counts = 0
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for q in queries[:20]:  # warm-up: caches, jieba
                client.get("/api/3/action/package_search", params=q).raise_for_status()
            for q in queries:
                t0 = time.perf_counter()
                r = client.get("/api/3/action/package_search", params=q)
                lat.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                counts += 1 if orjson.loads(r.content)["result"]["count"] else 0
    finally:
        proc.terminate()
        proc.wait(10)
    res = CatalogResource.__table__
    base: list[float] = []
    with rt.sessions() as s:
        for q in queries:
            words = str(q.get("q") or "").split()
            t0 = time.perf_counter()
            conds = [or_(res.c.name.like(f"%{w}%"), res.c.abstract.like(f"%{w}%")) for w in words]
            stmt = select(res.c.id).join(PortalDataset.__table__, PortalDataset.resource_id == res.c.id).where(
                PortalDataset.status == "published", res.c.open_type.in_(P.OPEN_CLASSES), *conds)
            s.connection().execute(stmt.order_by(res.c.id)).all()
            base.append((time.perf_counter() - t0) * 1000)
    rt.close()
    return {"p95": search_bench.p95(lat), "median": sorted(lat)[len(lat) // 2], "base_p95": search_bench.p95(base),
            "load_s": load_s, "with_hits": counts, "queries": len(queries)}


# -- 2. datastore_search vs Datasette ----------------------------------------------------------------

async def hammer(make_url: Callable[[int], str], pages: int, seconds: float,
                 rows_of: Callable[[Any], list[Any]]) -> tuple[int, float]:
    """``bench/api.py``'s client: 16 connections, random 1,000-row pages, each page parsed."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    rows = 0
    rnd = random.Random(7)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for _ in range(CONNECTIONS):
            (await client.get(make_url(0))).raise_for_status()
        start_t = time.perf_counter()
        stop = start_t + seconds

        async def worker() -> None:
            nonlocal rows
            while time.perf_counter() < stop:
                r = await client.get(make_url(rnd.randrange(pages)))
                r.raise_for_status()
                got = rows_of(orjson.loads(r.content))
                assert len(got) == PAGE, len(got)
                rows += len(got)

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - start_t
    return rows, elapsed


def published_table(rows: int, data: Path) -> tuple[str, Path]:
    """The generated table as an open entry, published through the gate (names masked)."""
    t = api_bench.table(rows)
    rt = Runtime.build(Settings(env="test", data_dir=data))
    rt.migrate()
    from shudata.security.schemas import DepartmentCreate
    from shudata.security.service import create_department

    with rt.transaction() as s:
        dept = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省民政厅", uscc=complete("11510000000000003"), region_code="510000"))
    items = [{"name": f.name, "data_type": "I" if pa.types.is_integer(f.type) else
              "N" if pa.types.is_floating(f.type) else "C"} for f in t.schema]
    with rt.transaction() as s:
        res = register_resource(session=s, actor=SYSTEM, data=ResourceCreate.model_validate({
            "code": "101001/000001", "name": "人口登记（基准测试）", "abstract": "基准测试数据",
            "provider_department_id": dept.id, "information_items": items, "sharing": {"type": 1, "method": "接口"},
            "open": {"type": "无条件开放"}}))
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=find_resource(s, res.code),
                      batches_or_table=t, source_name="bench", source_format="parquet")
    with rt.transaction() as s:
        pub = P.publish(session=s, settings=rt.settings, actor=SYSTEM, resource=res.code)
        assert pub.status == "published", pub.gate
        ds = P.get_dataset(s, res.code)
        file = ds.file(rt.settings)
        name = ds.name
    rt.close()
    return f"{name}-csv", file


def sqlite_from_parquet(file: Path, path: Path) -> None:
    t = pq.read_table(file)
    con = sqlite3.connect(path)
    cols = ", ".join(f'"{c}"' for c in t.column_names)
    con.execute(f"CREATE TABLE people ({cols})")
    for batch in t.to_batches(100_000):
        rows = zip(*(c.to_pylist() for c in batch.columns), strict=True)
        con.executemany(f"INSERT INTO people VALUES ({', '.join('?' * t.num_columns)})", rows)
    con.commit()
    con.close()


def bench_datastore(rows: int, seconds: float, tmp: Path) -> dict[str, float]:
    data = tmp / "datastore"
    rid, file = published_table(rows, data)
    sqlite_from_parquet(file, tmp / "db.sqlite")
    pages = rows // PAGE
    out: dict[str, float] = {}
    datasette = api_bench.ensure_datasette()
    port = api_bench.free_port()
    ds = api_bench.start([str(datasette), "serve", str(tmp / "db.sqlite"), "--port", str(port), "--setting",
                          "max_returned_rows", str(PAGE), "--setting", "default_page_size", str(PAGE)],
                         f"http://127.0.0.1:{port}/db.json", OUT / "portal-datasette.log")
    try:
        def ds_url(k: int) -> str:
            nxt = f"&_next={k * PAGE}" if k else ""
            return f"http://127.0.0.1:{port}/db/people.json?_shape=arrays&_size={PAGE}{nxt}"

        n, el = asyncio.run(hammer(ds_url, pages, seconds, lambda b: b["rows"] if isinstance(b, dict) else b))
        out["datasette"] = n / el
    finally:
        ds.terminate()
        ds.wait(10)
    proc, url = serve(data, "datastore")
    try:
        def our_url(k: int) -> str:
            return (f"{url}/api/3/action/datastore_search?resource_id={rid}&limit={PAGE}&offset={k * PAGE}"
                    "&records_format=lists")

        n, el = asyncio.run(hammer(our_url, pages, seconds, lambda b: b["result"]["records"]))
        out["shudata"] = n / el
    finally:
        proc.terminate()
        proc.wait(10)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="5,000 datasets, 50,000 rows, 5 s per server")
    ap.add_argument("--datasets", type=int, default=None)
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--queries", type=int, default=None, help="package_search requests (default 400; quick 100)")
    args = ap.parse_args()
    n = args.datasets or (5_000 if args.quick else 100_000)
    rows = args.rows or (50_000 if args.quick else 1_000_000)
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    nq = args.queries or (100 if args.quick else 400)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shudata-bench-portal-") as tmp:
        s = bench_search(n, nq, Path(tmp))
        d = bench_datastore(rows, seconds, Path(tmp))
    figures = [
        {"figure": "portal.search_load_s", "value": round(s["load_s"], 1), "target": None, "unit": "s"},
        {"figure": "portal.search_queries_with_hits", "value": s["with_hits"], "target": None,
         "unit": f"of {s['queries']}"},
        {"figure": "portal.search_baseline_like_p95_ms", "value": round(s["base_p95"], 2), "target": None,
         "unit": "ms"},
        {"figure": "portal.search_median_ms", "value": round(s["median"], 2), "target": None, "unit": "ms"},
        {"figure": "portal.search_p95_ms", "value": round(s["p95"], 2), "target": 50, "unit": "ms", "datasets": n,
         "queries": s["queries"], "baseline_like_p95_ms": round(s["base_p95"], 2)},
        {"figure": "portal.datastore_rows_per_s", "value": round(d["shudata"]), "target": None, "unit": "rows/s"},
        {"figure": "portal.datastore_rows_per_s_datasette", "value": round(d["datasette"]), "target": None,
         "unit": "rows/s"},
        {"figure": "portal.datastore_ratio_vs_datasette", "value": round(d["shudata"] / d["datasette"], 3),
         "target": 1.5, "unit": "ratio", "rows": rows},
    ]
    for f in figures:
        print(json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
