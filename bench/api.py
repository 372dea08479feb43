"""Benchmark of paged JSON rows from /api/v1 vs Datasette serving the same table (issue 2).

    .venv/bin/python bench/api.py [--rows 200000] [--seconds 10] [--quick]

The same generated table (12 columns, Chinese text, seeded) is stored as a lake version
and as an SQLite table. Both servers run as separate uvicorn processes on loopback; one
asyncio client with 16 concurrent connections fetches 1,000-row pages at random offsets
for a fixed time and parses every page:

- shudata: ``GET /api/v1/resources/{code}/rows?offset=…&limit=1000`` with a bearer token
  (authentication, authorization, an audit record per read, as in production);
- Datasette: ``GET /db/people.json?_shape=arrays&_size=1000&_next=…`` (rowid keyset
  pagination, its fastest way to page a table).

Datasette lives in its own venv, ``bench/.venv-datasette`` (git-ignored), created here on
first use with ``pip install datasette``; it never enters the project's ``.venv``.

Figure (last line): ``api.ratio_vs_datasette`` = our rows/s ÷ Datasette's rows/s, target ≥ 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import pyarrow as pa
from _peers import ensure

from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.catalog.writes import write_version
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.security.schemas import DepartmentCreate, TokenCreate, UserCreate
from shudata.security.service import create_department, create_token, create_user
from shudata.standards.uscc import complete

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-datasette"
OUT = HERE / "out"
CONNECTIONS = 16
PAGE = 1000


def table(rows: int, seed: int = 46) -> pa.Table:
    rnd = random.Random(seed)
    from faker import Faker

    fake = Faker("zh_CN")
    Faker.seed(seed)
    names = [fake.name() for _ in range(1000)]
    addresses = [fake.address().replace("\n", " ") for _ in range(1000)]
    cities = ["成都市", "绵阳市", "德阳市", "宜宾市", "南充市", "乐山市", "泸州市", "达州市"]
    return pa.table({
        "编号": pa.array(range(1, rows + 1), pa.int64()),
        "姓名": [rnd.choice(names) for _ in range(rows)],
        "性别": [rnd.choice("男女") for _ in range(rows)],
        "城市": [rnd.choice(cities) for _ in range(rows)],
        "地址": [rnd.choice(addresses) for _ in range(rows)],
        "年龄": pa.array([rnd.randint(18, 90) for _ in range(rows)], pa.int64()),
        "收入": [round(rnd.random() * 20000, 2) for _ in range(rows)],
        "登记日期": [f"20{rnd.randint(10, 23)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}" for _ in range(rows)],
        "状态": [rnd.choice(["正常", "注销", "迁出"]) for _ in range(rows)],
        "数量": pa.array([rnd.randint(0, 100000) for _ in range(rows)], pa.int64()),
        "比例": [round(rnd.random(), 4) for _ in range(rows)],
        "备注": [rnd.choice(["", "已核实", "待补充材料", "信息变更"]) for _ in range(rows)],
    })


def sqlite_db(t: pa.Table, path: Path) -> None:
    con = sqlite3.connect(path)
    cols = ", ".join(f'"{c}"' for c in t.column_names)
    con.execute(f"CREATE TABLE people ({cols})")
    rows = zip(*(c.to_pylist() for c in t.columns), strict=True)
    con.executemany(f"INSERT INTO people VALUES ({', '.join('?' * t.num_columns)})", rows)
    con.commit()
    con.close()


def lake(t: pa.Table, data_dir: Path) -> tuple[str, str]:
    """The table as version 1 of an entry; returns (resource code, bearer token)."""
    rt = Runtime.build(Settings(env="test", data_dir=data_dir))
    rt.migrate()
    system = Actor.system()
    with rt.transaction() as s:
        dept = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省公安厅", uscc=complete("11510000000000002"), region_code="510000"))
        user = create_user(session=s, actor=system, data=UserCreate(
            username="bench", display_name="bench", password="Tianfu-Data-7", department_id=dept.id,
            roles=[Role.DEPT_USER]))
    steward = system  # the platform itself registers the entry and writes its version (no login involved)
    items = [{"name": f.name, "data_type": "I" if pa.types.is_integer(f.type) else
              "N" if pa.types.is_floating(f.type) else "C"} for f in t.schema]
    with rt.transaction() as s:
        res = register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
            "code": "101001/000001", "name": "人口登记（基准测试）", "abstract": "基准测试数据",
            "provider_department_id": dept.id, "information_items": items, "sharing": {"type": 1, "method": "接口"}}))
    with rt.transaction() as s:
        from shudata.catalog.access import find_resource

        write_version(session=s, settings=rt.settings, actor=steward, resource=find_resource(s, res.code),
                      batches_or_table=t, source_name="bench", source_format="parquet")
        token = create_token(session=s, actor=system, data=TokenCreate(expires_in_days=1), username=user.username)
    rt.close()
    return res.code, token.token


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], url: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {' '.join(cmd)}: {log.read_text()[-2000:]}")


async def hammer(make_url: object, headers: dict[str, str], pages: int, seconds: float) -> tuple[int, float]:
    """Rows per second fetched by 16 concurrent connections."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    rows = 0
    rnd = random.Random(7)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:
        for _ in range(CONNECTIONS):  # warm-up: every connection, every page cache
            r = await client.get(make_url(0))  # type: ignore[operator]
            r.raise_for_status()
        start_t = time.perf_counter()
        stop = start_t + seconds

        async def worker() -> None:
            nonlocal rows
            while time.perf_counter() < stop:
                r = await client.get(make_url(rnd.randrange(pages)))  # type: ignore[operator]
                r.raise_for_status()
                body = orjson.loads(r.content)
                got = body["rows"] if isinstance(body, dict) and "rows" in body else body
                assert len(got) == PAGE, len(got)
                rows += len(got)

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - start_t
    return rows, elapsed


def ensure_datasette() -> Path:
    """Datasette's executable in its own venv, created on first use (:mod:`_peers`)."""
    return ensure("datasette").parent / "datasette"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true", help="50,000 rows, 5 s per server")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for shudata (default 1, "
                    "like Datasette's single process)")
    args = ap.parse_args()
    rows, seconds = (50_000, 5.0) if args.quick else (args.rows, args.seconds)
    pages = rows // PAGE
    datasette = ensure_datasette()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shudata-bench-api-") as tmp:
        root = Path(tmp)
        t = table(rows)
        sqlite_db(t, root / "db.sqlite")
        code, token = lake(t, root / "data")
        results: dict[str, float] = {}
        port = free_port()
        ds = start([str(datasette), "serve", str(root / "db.sqlite"), "--port", str(port), "--setting",
                    "max_returned_rows", str(PAGE), "--setting", "default_page_size", str(PAGE)],
                   f"http://127.0.0.1:{port}/db.json", OUT / "datasette.log")
        try:
            def ds_url(k: int) -> str:
                nxt = f"&_next={k * PAGE}" if k else ""
                return f"http://127.0.0.1:{port}/db/people.json?_shape=arrays&_size={PAGE}{nxt}"

            n, el = asyncio.run(hammer(ds_url, {}, pages, seconds))
            results["datasette"] = n / el
        finally:
            ds.terminate()
            ds.wait(10)
        port = free_port()
        env = {**os.environ, "SHUDATA_DATA_DIR": str(root / "data"), "SHUDATA_ENV": "test"}
        ours = start([sys.executable, "-m", "uvicorn", "--factory", "shudata.web.app:create_app", "--port", str(port),
                      "--log-level", "warning", "--no-access-log", "--workers", str(args.workers)],
                     f"http://127.0.0.1:{port}/api/v1/health",
                     OUT / "shudata.log", env)
        try:
            def our_url(k: int) -> str:
                return f"http://127.0.0.1:{port}/api/v1/resources/{code}/rows?offset={k * PAGE}&limit={PAGE}"

            n, el = asyncio.run(hammer(our_url, {"Authorization": f"Bearer {token}"}, pages, seconds))
            results["shudata"] = n / el
        finally:
            ours.terminate()
            ours.wait(10)
    for name, rate in results.items():
        print(f"{name}: {rate:,.0f} rows/s")
    print(json.dumps({"figure": "api.rows_per_s_shudata", "value": round(results["shudata"]), "target": None,
                      "unit": "rows/s"}))
    print(json.dumps({"figure": "api.rows_per_s_datasette", "value": round(results["datasette"]), "target": None,
                      "unit": "rows/s"}))
    print(json.dumps({"figure": "api.ratio_vs_datasette", "value": round(results["shudata"] / results["datasette"], 3),
                      "target": 1.5, "unit": "ratio"}))


if __name__ == "__main__":
    main()
