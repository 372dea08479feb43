"""Benchmark of CSV ingestion (issue 2): a GBK CSV to a lake version vs DuckDB's own
``read_csv`` → Parquet of the same rows saved as UTF-8.

    .venv/bin/python bench/ingest.py [--rows 2000000] [--quick] [--reps 2]

DuckDB has no GBK decoder here (the ``encodings`` extension needs a download), so decoding
GBK is our job; DuckDB gets the same rows already in UTF-8, reads them with ``read_csv``
(auto-detected types, its own threads) and writes zstd Parquet. We ingest the GBK file
through the platform's own pipeline (``shudata.jobs.ingest.ingest_file``: encoding
detection, header check against the entry's 12 information items, type conversion,
chunked parallel decoding, zstd Parquet parts, atomic publish, audit record). Each side is
timed ``--reps`` times in turn and its best time kept.

Figure (last line): ``ingest.ratio_vs_duckdb`` = DuckDB time / our time, target ≥ 0.7.
The data is generated (seeded, with a Faker zh_CN pool of names and addresses), never committed.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import duckdb  # the baseline (bench code, not the package)
from faker import Faker

from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.sharing import prepare
from shudata.standards.uscc import complete

COLUMNS = [("编号", "I"), ("姓名", "C"), ("性别", "C"), ("城市", "C"), ("地址", "C"), ("年龄", "I"),
           ("收入", "N"), ("登记日期", "D"), ("状态", "C"), ("数量", "I"), ("比例", "N"), ("备注", "C")]


def generate(path_gbk: Path, path_utf8: Path, rows: int, seed: int = 2018) -> None:
    fake = Faker("zh_CN")
    Faker.seed(seed)
    rnd = random.Random(seed)
    names = [fake.name() for _ in range(2000)]
    cities = ["成都市", "自贡市", "攀枝花市", "泸州市", "德阳市", "绵阳市", "广元市", "遂宁市", "内江市", "乐山市",
              "南充市", "眉山市", "宜宾市", "广安市", "达州市", "雅安市", "巴中市", "资阳市"]
    streets = [fake.street_address() for _ in range(2000)]
    notes = ["", "已核实", "待补充材料", "迁出", "新增登记", "信息变更"]
    header = ",".join(c for c, _ in COLUMNS) + "\n"
    with path_gbk.open("w", encoding="gbk", newline="") as g, path_utf8.open("w", encoding="utf-8", newline="") as u:
        g.write(header)
        u.write(header)
        block: list[str] = []
        for i in range(rows):
            city = rnd.choice(cities)
            block.append(
                f"{i},{rnd.choice(names)},{rnd.choice('男女')},{city},四川省{city}{rnd.choice(streets)},"
                f"{rnd.randint(18, 90)},{rnd.random() * 20000:.2f},20{rnd.randint(10, 23)}-{rnd.randint(1, 12):02d}-"
                f"{rnd.randint(1, 28):02d},{'正常' if i % 7 else '注销'},{rnd.randint(0, 100000)},"
                f"{rnd.random():.4f},{rnd.choice(notes)}\n")
            if len(block) == 50_000:
                text = "".join(block)
                g.write(text)
                u.write(text)
                block = []
        text = "".join(block)
        g.write(text)
        u.write(text)


def setup(data_dir: Path) -> tuple[Runtime, Actor, str]:
    rt = Runtime.build(Settings(env="test", data_dir=data_dir))
    rt.migrate()
    with rt.transaction() as s:
        dept = create_department(session=s, actor=Actor.system(), data=DepartmentCreate(
            name="四川省公安厅", uscc=complete("11510000000000002"), region_code="510000"))
    steward = Actor(user_id=1, username="bench", department_id=dept.id, roles=frozenset({Role.DATA_STEWARD}))
    items = [{"name": c, "data_type": t} for c, t in COLUMNS]
    with rt.transaction() as s:
        code = register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
            "code": "101001/000001", "name": "人口登记（基准测试）", "abstract": "基准测试数据",
            "information_items": items, "sharing": {"type": 1, "method": "接口"}})).code
    return rt, steward, code


def ours(rt: Runtime, actor: Actor, code: str, path: Path) -> tuple[float, int]:
    t = time.perf_counter()
    with rt.transaction() as s:
        v = ingest_file(session=s, settings=rt.settings, actor=actor, resource_code=code, path=path)
    elapsed = time.perf_counter() - t
    # The version's deliveries are prepared in the background after the commit (not timed): let
    # that finish, so it neither overlaps the next repetition nor writes into a removed folder.
    prepare.wait(timeout=600)
    return elapsed, v.rows


def duck(utf8: Path, out: Path) -> tuple[float, int]:
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_csv('{utf8}')) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    elapsed = time.perf_counter() - t
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0]
    con.close()
    out.unlink()
    return elapsed, int(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--quick", action="store_true", help="200,000 rows, for a run under a minute")
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    rows = 200_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory(prefix="shudata-bench-ingest-") as tmp:
        root = Path(tmp)
        gbk, utf8 = root / "people_gbk.csv", root / "people_utf8.csv"
        t = time.perf_counter()
        generate(gbk, utf8, rows)
        print(f"generated {rows:,} rows ({gbk.stat().st_size / 1e6:.0f} MB GBK) in {time.perf_counter() - t:.1f} s")
        rt, actor, code = setup(root / "data")
        best_ours = best_duck = float("inf")
        for rep in range(args.reps):
            d, n_duck = duck(utf8, root / "duck.parquet")
            o, n_ours = ours(rt, actor, code, gbk)
            assert n_duck == n_ours == rows, (n_duck, n_ours, rows)
            print(f"rep {rep + 1}: duckdb {d:.2f} s, shudata {o:.2f} s")
            best_duck, best_ours = min(best_duck, d), min(best_ours, o)
        rt.close()
    print(json.dumps({"figure": "ingest.seconds_shudata", "value": round(best_ours, 3), "target": None,
                      "unit": "s"}))
    print(json.dumps({"figure": "ingest.seconds_duckdb", "value": round(best_duck, 3), "target": None,
                      "unit": "s"}))
    print(json.dumps({"figure": "ingest.ratio_vs_duckdb", "value": round(best_duck / best_ours, 3),
                      "target": 0.7, "unit": "ratio"}))


if __name__ == "__main__":
    main()
