"""Benchmark of the Delta Sharing server with the official client (issue 5).

    .venv/bin/python bench/deltasharing.py [--rows 1000000] [--quick]

A 1,000,000-row table of synthetic citizens is granted (8 fields, ``share-conditional``
masking). The official ``delta-sharing`` client (its own venv, ``make clients``) loads it
into pandas through a live server — cold, so the time includes the protocol calls, the
grant checks, masking the version into Parquet and the signed download. The baseline,
in the same run and the same interpreter, is ``pandas.read_parquet`` of the masked file.

Figure: ``deltasharing.ratio_vs_pandas`` = client seconds ÷ read_parquet seconds, target ≤ 3.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from delivery import CODE, setup  # noqa: E402

from integration.conftest import LiveServer  # noqa: E402
from shudata.core.config import Settings  # noqa: E402
from shudata.db.runtime import Runtime  # noqa: E402

CLIENT = ROOT / "tests" / ".venv-delta-sharing" / "bin" / "python"
TIMED = """
import glob, json, sys, time
import delta_sharing, pandas as pd
profile, table, folder = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter(); df = delta_sharing.load_as_pandas(f"{profile}#{table}"); client = time.perf_counter() - t0
path = glob.glob(folder + "/**/*.parquet", recursive=True)[0]
t0 = time.perf_counter(); ref = pd.read_parquet(path); local = time.perf_counter() - t0
print(json.dumps({"rows": len(df), "ref_rows": len(ref), "client_s": client, "pandas_s": local}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 rows")
    args = ap.parse_args()
    if not CLIENT.exists():
        sys.exit("the delta-sharing client is missing: run `make clients`")
    rows = 100_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(env="test", data_dir=Path(tmp) / "data", query_timeout_s=600)
        rt = Runtime.build(settings)
        rt.migrate()
        tokens = setup(rt, rows)
        from shudata.web.app import create_app

        with LiveServer(create_app(runtime=rt, migrate=False)) as server:
            prof = httpx.post(f"{server.url}/api/v1/sharing/profile",
                              headers={"Authorization": f"Bearer {tokens['consumer']}"}, timeout=60)
            prof.raise_for_status()
            profile = Path(tmp) / "bench.share"
            profile.write_text(prof.text)
            shares = httpx.get(f"{server.url}/delta-sharing/shares",
                               headers={"Authorization": f"Bearer {tokens['consumer']}"}).json()["items"]
            table = f"{shares[0]['name']}.default.r_{CODE.replace('/', '_')}"
            done = subprocess.run([str(CLIENT), "-c", TIMED, str(profile), table, str(settings.data_dir / "delivery")],
                                  capture_output=True, text=True, timeout=3600, check=True)
        rt.close()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"client loaded {result['rows']:,} rows in {result['client_s']:.2f} s; "
          f"read_parquet {result['ref_rows']:,} rows in {result['pandas_s']:.2f} s", file=sys.stderr)
    print(json.dumps({"figure": "deltasharing.ratio_vs_pandas",
                      "value": round(result["client_s"] / result["pandas_s"], 2), "target": 3, "unit": "ratio"}))


if __name__ == "__main__":
    main()
