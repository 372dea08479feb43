"""Indicator recompute benchmark (issue 18): every demo indicator recomputed after a new version of every source.

A fresh node (SQLite, temp folder) gets the demo accounts, the provincial NBS entries and the indicator
system of ``shudata.demo.analysis`` (68 indicators on 18 real sources; the load is timed). Then every
source resource gets a new data version (its bundled file uploaded again through ``ingest_file``: the
``after_ingest`` hook writes the long form and recomputes the affected indicators, whose seconds are
recorded per run), and finally every indicator is recomputed once from the new versions. Measured in
the same run:

* ``analysis.recompute_s``: the full recompute of every demo indicator after the new versions (target ≤ 5 s);
* ``analysis.read_sources_s`` (baseline): reading the same sources without computing anything — every
  source's lake version (Parquet) and long form once;
* ``analysis.recompute_hooks_s``: the sum of the recomputes the new versions triggered one by one (shared
  dependants counted once per source);
* ``analysis.demo_load_s``: the indicator system's part of the demo load (entries, ingests, layouts,
  indicators and the first computation).

Ends with one JSON line per figure. Usage: .venv/bin/python bench/analysis_recompute.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select

from shudata.analysis import recompute, store
from shudata.analysis.models import AnalysisIndicator, AnalysisRecompute
from shudata.catalog.access import find_resource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.demo import analysis as demo_analysis
from shudata.demo import loader
from shudata.demo.accounts import demo_users
from shudata.demo.entries import ECONOMY_ENTRIES
from shudata.demo.progress import Silent
from shudata.jobs.ingest import ingest_file
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.service import latest_version, version_files

SYSTEM = Actor.system()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one timed full recompute instead of the best of three")
    args = ap.parse_args()
    repeats = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="shudata-bench-analysis-") as tmp:
        settings = Settings(env="test", data_dir=Path(tmp), query_timeout_s=60)
        rt = Runtime.build(settings)
        rt.migrate()
        users = [u for u in demo_users() if u.department_key in (None, "tjj", "sthj", "cddata")]
        report = loader.LoadReport()
        progress = Silent()
        loader.load_accounts(rt, report, progress, users)
        loader.load_entries(rt, report, progress, ECONOMY_ENTRIES)
        t0 = time.perf_counter()
        loaded = demo_analysis.load_analysis(rt, ECONOMY_ENTRIES, loader.ensure_entry, loader.ensure_data)
        demo_s = time.perf_counter() - t0
        with rt.transaction() as s:
            load = s.scalars(select(AnalysisRecompute).where(AnalysisRecompute.trigger == "demo")).first()
            n_ind = len(s.scalars(select(AnalysisIndicator.id)).all())
        print(f"  demo indicator system: {demo_s:.2f} s ({loaded.seconds}); {n_ind} indicators; first computation "
              f"{load.seconds if load else '—'} s ({load.values if load else 0} values, "
              f"{load.alerts if load else 0} alerts)")

        codes = [c for c in demo_analysis.LAYOUTS]
        with rt.transaction() as s:
            before = s.scalar(select(AnalysisRecompute.id).order_by(AnalysisRecompute.id.desc()).limit(1)) or 0
        t0 = time.perf_counter()
        for code in codes:
            with rt.transaction() as s:
                ingest_file(session=s, settings=rt.settings, actor=SYSTEM, resource_code=code,
                            path=demo_analysis.bundled_path(code), options=IngestOptions(comment="bench"))
        ingest_s = time.perf_counter() - t0
        with rt.transaction() as s:
            runs = s.scalars(select(AnalysisRecompute).where(AnalysisRecompute.id > before)).all()
            hooks_s = sum(r.seconds for r in runs)
            hook_errors = [e for r in runs for e in r.errors]

        # baseline: read every source's new version and long form once
        t0 = time.perf_counter()
        rows = 0
        with rt.transaction() as s:
            for code in codes:
                res = find_resource(s, code)
                v = latest_version(s, res.id)
                assert v is not None
                for f in version_files(rt.settings, v):
                    rows += pq.read_table(f).num_rows
                rows += pq.read_table(store.long_path(rt.settings, res.id, v.version)).num_rows
        read_s = time.perf_counter() - t0

        best = float("inf")
        out = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            with rt.transaction() as s:
                out = recompute.recompute(s, rt.settings, SYSTEM, trigger="bench")
            best = min(best, time.perf_counter() - t0)
        assert out is not None
        rt.close()
    print(f"  new versions of {len(codes)} sources: {ingest_s:.2f} s with their hooks ({len(runs)} recomputes, "
          f"{hooks_s:.2f} s, errors {hook_errors or 'none'})")
    print(f"  read the sources (baseline): {read_s:.2f} s, {rows} rows")
    print(f"  full recompute: {best:.2f} s, {len(out.computed)} indicators, {out.run.values} values, "
          f"errors {out.errors or 'none'}")
    figures = [
        {"figure": "analysis.recompute_s", "value": round(best, 3), "target": 5, "unit": "s",
         "indicators": len(out.computed), "values": out.run.values},
        {"figure": "analysis.read_sources_s", "value": round(read_s, 3), "unit": "s", "baseline": True,
         "sources": len(codes), "rows": rows},
        {"figure": "analysis.recompute_hooks_s", "value": round(hooks_s, 3), "unit": "s", "runs": len(runs)},
        {"figure": "analysis.first_compute_s", "value": load.seconds if load else None, "unit": "s"},
        {"figure": "analysis.demo_load_s", "value": round(demo_s, 2), "unit": "s"},
    ]
    for fig in figures:
        print(json.dumps(fig, ensure_ascii=False))


if __name__ == "__main__":
    main()
