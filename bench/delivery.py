"""Benchmark of masked delivery under a grant (issue 5).

    .venv/bin/python bench/delivery.py [--rows 2000000] [--pages 60] [--quick]

A seeded table of synthetic citizens (8 columns: name, resident ID, mobile, bank card,
address, birth date, income, region code) is one lake version. A consumer department
holds a grant on all 8 fields with a row filter, masked by the ``share-conditional``
profile, which rewrites 6 columns (name, ID, mobile, card, address partially masked,
birth date to month). Measured in the same run:

(a) ``delivery.export_ratio_vs_copy``: rows/s of the grant-masked Parquet export (the path
    file delivery and Delta Sharing use) ÷ rows/s of DuckDB copying the same version to
    Parquet unmasked (same engine, threads and COPY options). Target ≥ 0.8. Each side runs
    three times, alternating (masked, plain, masked, …), and the best run of each counts, so
    neither side gains from running second or loses to a burst of load on the machine; every
    run's time is printed.
(b) ``delivery.api_ratio_vs_unmasked``: rows/s of 1,000-row JSON pages through the grant
    (``/api/v1/shared/rows``) ÷ rows/s of the same pages read unmasked by the provider
    (``/api/v1/resources/{code}/rows``), one client, the same server. Target ≥ 0.8.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from integration.conftest import LiveServer
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.catalog.writes import write_version
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.privacy.schemas import PolicySave
from shudata.privacy.service import save_policy
from shudata.privacy.synthdata import citizens
from shudata.query.engines.base import Limits, TableSource
from shudata.query.service import default_engine
from shudata.security.models import User
from shudata.security.schemas import DepartmentCreate, TokenCreate, UserCreate
from shudata.security.service import actor_for, create_department, create_token, create_user
from shudata.sharing import delivery, prepare
from shudata.sharing import service as sharing
from shudata.sharing.schemas import RequestCreate
from shudata.standards.uscc import complete

SYS = Actor.system()
CODE = "101001/000001"


def setup(rt: Runtime, rows: int) -> dict[str, str]:
    table = citizens(rows, seed=7)
    with rt.transaction() as s:
        provider = create_department(session=s, actor=SYS, data=DepartmentCreate(
            name="省公安厅", uscc=complete("11510000000000081"), region_code="510000"))
        consumer = create_department(session=s, actor=SYS, data=DepartmentCreate(
            name="成都市大数据中心", uscc=complete("12510100000000092"), region_code="510100"))
        items = [{"name": n, "data_type": "C", "length": 100} for n in table.column_names]
        res = register_resource(session=s, actor=SYS, data=ResourceCreate(
            code=CODE, name="四川省人口基础信息", abstract="基准测试数据", provider_department_id=provider.id,
            information_items=items, sharing={"type": 1, "method": "接口"}))
        write_version(session=s, settings=rt.settings, actor=SYS, resource=_resource(s, res.code),
                      batches_or_table=table, source_name="citizens.parquet", source_format="parquet")
        tokens = {}
        for name, dept, role in (("owner", provider.id, Role.DATA_STEWARD), ("consumer", consumer.id, Role.DEPT_USER)):
            create_user(session=s, actor=SYS, data=UserCreate(
                username=name, display_name=name, password="Bench-Passw0rd!", department_id=dept, roles=[role]))
            tokens[name] = create_token(session=s, actor=SYS, data=TokenCreate(), username=name).token
        user = s.query(User).filter_by(username="consumer").one()
        req = sharing.request_access(session=s, actor=actor_for(user), settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=table.column_names, purpose="业务协同", basis="基准测试", use_from=dt.date.today(),
            use_until=dt.date.today() + dt.timedelta(days=30)))
        from shudata.sharing.models import SharingGrant

        grant = s.get(SharingGrant, req.grant.id)
        grant.row_filter = "区划代码 LIKE '51%'"
        save_policy(session=s, actor=SYS, settings=rt.settings, data=PolicySave(policy=POLICY))
    return tokens


# The 6-column masking policy of the grant's profile on this resource (sharing.masking.policy_name).
POLICY = {"name": "101001-000001-share-conditional", "profile": "share-conditional", "columns": {
    "姓名": {"op": "partial_mask", "keep_head": 1}, "身份证号": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
    "手机号": {"op": "partial_mask", "keep_head": 3, "keep_tail": 4},
    "银行卡号": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4}, "地址": {"op": "partial_mask", "keep_head": 6},
    "出生日期": {"op": "date_generalize", "level": "month"}}}


def _resource(session, code):  # type: ignore[no-untyped-def]
    from shudata.catalog.access import find_resource

    return find_resource(session, code)


def export_ratio(rt: Runtime, out: Path, runs: int = 3) -> tuple[float, int, int]:
    with rt.transaction() as s:
        user = s.query(User).filter_by(username="consumer").one()
        view = delivery.grant_view(session=s, settings=rt.settings, actor=actor_for(user), resource_key=CODE)
    masked_cols = sum(1 for c in POLICY["columns"] if f'AS "{c}"' in view.sql and f'"{c}" AS "{c}"' not in view.sql)
    engine = default_engine(rt.settings)
    src = {"t": TableSource("t", view.source.files)}
    masked_s: list[float] = []
    plain_s: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        masked_rows = delivery.export_parquet(settings=rt.settings, view=view, dest=out / "masked.parquet")
        masked_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain_rows = engine.copy_to_parquet("SELECT * FROM t", src, out / "plain.parquet", Limits(timeout_s=3600))
        plain_s.append(time.perf_counter() - t0)
    print(f"masked export runs (s): {', '.join(f'{t:.3f}' for t in masked_s)}; "
          f"plain copy runs (s): {', '.join(f'{t:.3f}' for t in plain_s)}", file=sys.stderr)
    return (masked_rows / min(masked_s)) / (plain_rows / min(plain_s)), masked_rows, masked_cols


def api_ratio(server: LiveServer, tokens: dict[str, str], rows: int, pages: int) -> float:
    offsets = [random.Random(i).randrange(0, max(1, rows - 1000)) for i in range(pages)]

    def run(path: str, token: str, params: dict[str, str]) -> float:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
            c.get(path, params={**params, "offset": "0", "limit": "1000"}).raise_for_status()  # warm-up
            got, t0 = 0, time.perf_counter()
            for off in offsets:
                r = c.get(path, params={**params, "offset": str(off), "limit": "1000"})
                r.raise_for_status()
                got += len(json.loads(r.content)["rows"])
            return got / (time.perf_counter() - t0)

    masked = run("/api/v1/shared/rows", tokens["consumer"], {"resource": CODE})
    plain = run(f"/api/v1/resources/{CODE}/rows", tokens["owner"], {})
    return masked / plain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="200,000 rows, 20 pages")
    args = ap.parse_args()
    rows, pages = (200_000, 20) if args.quick else (args.rows, args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(env="test", data_dir=Path(tmp) / "data", query_timeout_s=600)
        rt = Runtime.build(settings)
        rt.migrate()
        tokens = setup(rt, rows)
        prepare.wait()  # the grant's masked file, prepared in the background: not while we measure
        ratio, masked_rows, ncols = export_ratio(rt, Path(tmp))
        print(f"masked export: {masked_rows:,} of {rows:,} rows, {ncols} masked columns", file=sys.stderr)
        from shudata.web.app import create_app

        with LiveServer(create_app(runtime=rt, migrate=False)) as server:
            api = api_ratio(server, tokens, rows, pages)
        rt.close()
    print(json.dumps({"figure": "delivery.export_ratio_vs_copy", "value": round(ratio, 3), "target": 0.8,
                      "unit": "ratio"}))
    print(json.dumps({"figure": "delivery.api_ratio_vs_unmasked", "value": round(api, 3), "target": 0.8,
                      "unit": "ratio"}))


if __name__ == "__main__":
    main()
