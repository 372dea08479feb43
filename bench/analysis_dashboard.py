"""Dashboard benchmark (issue 18): a 12-panel dashboard's data over HTTP.

    .venv/bin/python bench/analysis_dashboard.py            # 100 loads of the dashboard
    .venv/bin/python bench/analysis_dashboard.py --quick    # 20 loads

A metadata store in a temporary folder holds a department, a user with an API token, a catalog
entry with the real file ``tests/data/sichuan_gdp_2023_gbk.csv`` (市州 GDP and population, GBK CSV)
and four provincial indicators whose values are the real NBS exports of
``tests/data/economy/nbs_province_annual_gbk`` (reshaped by their declared layouts). The dashboard
has 12 panels: 4 × Sichuan against the other provinces (map of provinces, table, bar, number:
rank, share, growth), 5 × time series (line, table), 3 × saved workbench queries run through the
SQL sandbox for the user (bar, map of Sichuan's cities, table). No panel asks for a forecast
(the store's model choice by backtest is measured by ``bench/analysis.py``).

The app runs in uvicorn on a real socket (as ``shudata serve`` does). One load = the 12 panel data
requests sent at once (as the page's script does) over at most 6 keep-alive connections (a browser's
limit per host over HTTP/1.1), timed until the last answer; ``analysis.dashboard_p95_ms`` is the 95th
percentile over the loads (target ≤ 300). Baselines in the same run: p95 of ``GET /api/v1/health`` and
of a single panel's request.

Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from shudata.analysis import dashboards  # noqa: E402
from shudata.analysis.models import AnalysisIndicator, AnalysisValue  # noqa: E402
from shudata.catalog import service as catalog  # noqa: E402
from shudata.catalog.schemas import ResourceCreate  # noqa: E402
from shudata.core.config import Settings  # noqa: E402
from shudata.core.types import Actor, Role  # noqa: E402
from shudata.db.runtime import Runtime  # noqa: E402
from shudata.jobs.ingest import ingest_file  # noqa: E402
from shudata.query import saved  # noqa: E402
from shudata.query.workbench_schemas import SavedQueryCreate  # noqa: E402
from shudata.security.models import User  # noqa: E402
from shudata.security.schemas import DepartmentCreate, TokenCreate, UserCreate  # noqa: E402
from shudata.security.service import actor_for, create_department, create_token, create_user  # noqa: E402
from shudata.standards.uscc import complete as complete_uscc  # noqa: E402
from support.analysis_data import reshaped  # noqa: E402

DATA = ROOT / "tests" / "data"
GDP_CSV = DATA / "sichuan_gdp_2023_gbk.csv"
PROVINCE_FILES = {"GDP": "gdp_100m_yuan.csv", "EMP": "urban_unit_employment_10k.csv",
                  "POP": "population_sample_survey_persons.csv", "FAI": "fai_funds_in_place_growth_pct.csv"}
SYSTEM = Actor.system()
BROWSER_CONNECTIONS = 6  # what a browser opens to one host over HTTP/1.1: the page's 12 requests share them


def _seed(rt: Runtime) -> tuple[str, int]:
    """The store's data and the 12-panel dashboard; returns the user's token and the dashboard id."""
    with rt.transaction() as s:
        dept = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省统计局", uscc=complete_uscc("11510000000400001"), region_code="510000")).id
        u = create_user(session=s, actor=SYSTEM, data=UserCreate(
            username="analyst", display_name="分析员", password="Bench-Dash-2026", department_id=dept,
            roles=[Role.DATA_STEWARD]))
        row = s.get(User, u.id)
        if row is None:
            raise RuntimeError("the user was not created")
        user = actor_for(row)
        token = create_token(session=s, actor=SYSTEM, data=TokenCreate(expires_in_days=1), username="analyst").token
    items = [{"name": "地区", "data_type": "C", "length": 20, "description": "市州名称"},
             {"name": "地区生产总值", "data_type": "N", "description": "亿元"},
             {"name": "常住人口", "data_type": "N", "description": "万人"}]
    with rt.transaction() as s:
        code = catalog.register_resource(session=s, actor=user, data=ResourceCreate.model_validate({
            "name": "四川省各市州主要经济指标", "alias": "gdp_2023", "abstract": "各市州地区生产总值与常住人口。",
            "category_code": "201001", "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年",
            "format_category": "电子表格", "format_type": "csv", "information_items": items})).code
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=SYSTEM, resource_code=code, path=GDP_CSV,
                    source_name=GDP_CSV.name)
    with rt.transaction() as s:
        for ind_code, name in PROVINCE_FILES.items():
            long = reshaped(DATA / "economy" / "nbs_province_annual_gbk" / name).table.to_pylist()
            ind = AnalysisIndicator(code=ind_code, name=long[0]["indicator"], unit=long[0]["unit"], frequency="年",
                                    region_level="省", kind="series", definition={}, owner_department_id=dept,
                                    publication="open", created_by="bench", computed_at=dt.datetime.now(dt.UTC))
            s.add(ind)
            s.flush()
            s.add_all([AnalysisValue(indicator_id=ind.id, region_code=r["region_code"], region=r["region"],
                                     site=r["site"] or "", period=r["period"],
                                     period_start=r["period_start"].replace(tzinfo=dt.UTC), value=r["value"])
                       for r in long if r["value"] is not None])
        queries = {}
        for key, sql in (("by_gdp", 'SELECT "地区", "地区生产总值" FROM gdp_2023 ORDER BY 2 DESC'),
                         ("by_pop", 'SELECT "地区", "常住人口" FROM gdp_2023'),
                         ("per_head", 'SELECT "地区", round("地区生产总值" * 10000 / "常住人口", 0) AS 人均 '
                                      'FROM gdp_2023 ORDER BY 2 DESC')):
            queries[key] = saved.create_saved(session=s, actor=user, data=SavedQueryCreate(
                name=key, sql=sql, visibility="private")).id

        def p(pid: str, chart: str, gx: int, gy: int, w: int, h: int, **src: Any) -> dict[str, Any]:
            return {"id": pid, "title": pid, "chart": chart, "x": gx, "y": gy, "w": w, "h": h, "source": src}

        panels = [
            p("gdp_map", "map_china", 0, 0, 6, 5, kind="indicator", indicator="GDP", view="compare"),
            p("gdp_table", "table", 6, 0, 6, 5, kind="indicator", indicator="GDP", view="compare"),
            p("emp_bar", "bar", 0, 5, 6, 4, kind="indicator", indicator="EMP", view="compare"),
            p("fai_number", "number", 6, 5, 3, 2, kind="indicator", indicator="FAI", view="compare"),
            p("gdp_sc", "line", 0, 9, 6, 4, kind="indicator", indicator="GDP", regions=["510000"]),
            p("emp_sc", "line", 6, 9, 6, 4, kind="indicator", indicator="EMP", regions=["510000"]),
            p("pop_sc", "line", 0, 13, 6, 4, kind="indicator", indicator="POP", regions=["510000"]),
            p("gdp_west", "line", 6, 13, 6, 4, kind="indicator", indicator="GDP",
              regions=["510000", "500000", "530000", "520000", "610000"]),
            p("fai_table", "table", 9, 5, 3, 2, kind="indicator", indicator="FAI", regions=["510000"]),
            p("q_gdp", "bar", 0, 17, 4, 4, kind="query", saved_query_id=queries["by_gdp"], x="地区", y="地区生产总值"),
            p("q_map", "map_sichuan", 4, 17, 4, 4, kind="query", saved_query_id=queries["by_pop"], x="地区",
              y="常住人口", region_column="地区"),
            p("q_table", "table", 8, 17, 4, 4, kind="query", saved_query_id=queries["per_head"]),
        ]
        doc = dashboards.parse_document({"title": "四川经济运行（基准）", "panels": panels})
        board = dashboards.create_dashboard(session=s, actor=user, doc=doc)
    return token, board.id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1)


async def _measure(url: str, token: str, board: int, panels: list[str], loads: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=BROWSER_CONNECTIONS, max_keepalive_connections=BROWSER_CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        async def one(pid: str) -> None:
            r = await client.get(f"/api/v1/dashboards/{board}/panels/{pid}/data")
            if r.status_code != 200 or not r.json()["rows"]:
                raise RuntimeError(f"panel {pid}: {r.status_code} {r.text[:300]}")

        t0 = time.perf_counter()
        await asyncio.gather(*(one(pid) for pid in panels))  # warm-up (connections, first reads)
        first = (time.perf_counter() - t0) * 1000
        dash: list[float] = []
        for _ in range(loads):
            t0 = time.perf_counter()
            await asyncio.gather(*(one(pid) for pid in panels))
            dash.append((time.perf_counter() - t0) * 1000)
        single: list[float] = []
        health: list[float] = []
        for i in range(loads):
            t0 = time.perf_counter()
            await one(panels[i % len(panels)])
            single.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            r = await client.get("/api/v1/health")
            r.raise_for_status()
            health.append((time.perf_counter() - t0) * 1000)
    return {"dash": dash, "single": single, "health": health, "first": first}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 loads instead of 100")
    parser.add_argument("--loads", type=int, default=None)
    args = parser.parse_args(argv)
    loads = args.loads or (20 if args.quick else 100)

    import uvicorn

    from shudata.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    rt = Runtime.build(Settings(env="test", data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'meta.db'}"))
    rt.migrate()
    try:
        token, board = _seed(rt)
        with rt.transaction() as s:
            panels = [p.id for p in dashboards.get_dashboard(session=s, actor=SYSTEM, dashboard_id=board)
                      .document.panels]
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt, migrate=False), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        try:
            got = asyncio.run(_measure(f"http://127.0.0.1:{port}", token, board, panels, loads))
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        print(json.dumps({"figure": "analysis.dashboard_p95_ms", "value": _p95(got["dash"]), "target": 300,
                          "unit": "ms", "panels": len(panels), "loads": loads,
                          "median_ms": round(statistics.median(got["dash"]), 1),
                          "first_load_ms": round(got["first"], 1)}, ensure_ascii=False))
        print(json.dumps({"figure": "analysis.dashboard_baseline_health_p95_ms", "value": _p95(got["health"]),
                          "unit": "ms", "note": "GET /api/v1/health on the same server"}, ensure_ascii=False))
        print(json.dumps({"figure": "analysis.dashboard_baseline_one_panel_p95_ms", "value": _p95(got["single"]),
                          "unit": "ms", "note": "one panel's data request alone"}, ensure_ascii=False))
    finally:
        rt.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
