"""Benchmark of the Delta Sharing change data feed with the official client (issue 13).

    .venv/bin/python bench/deltasharing_changes.py [--rows 1000000] [--quick]

The granted table of ``bench/delivery.py`` (synthetic citizens, 8 fields, a row filter, 6 columns
masked) gets a declared key (a ``unique`` rule on 身份证号) and a second version in which 1% of
the rows differ: 0.5% change their income, 0.25% are gone and 0.25% are new. The version is
published with the background preparation an ingest starts, so the change file is written
when the version lands; then the official client reads the feed of version 2
(``load_table_changes_as_pandas(starting_version=2)``) in fresh processes:

- ``deltasharing.changes_prepare_s``: seconds from version 2's commit until its masked file
  and its change file are both written (the masked export of the new version included).
- ``deltasharing.changes_client_s``: the client's load of the prepared feed (best of ``--runs``;
  ``pandas.read_parquet`` of the same change file from local disk is printed beside it — a
  ratio would only measure the client's fixed cost of a few protocol calls on a small file).
- ``deltasharing.changes_cold_s`` (shown for honesty): the same load when nothing is prepared
  — both versions' masked files and the change file deleted, the server's in-memory views and
  findings dropped — so the call pays two masked exports and the comparison.

The resident ID is masked (6 + 4 digits kept), so masked keys collide and most changes of
colliding keys are reported as delete + insert; the cost measured is the same.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from _peers import ensure  # noqa: E402
from delivery import CODE, setup  # noqa: E402

from integration.conftest import LiveServer  # noqa: E402
from shudata.catalog.access import find_resource  # noqa: E402
from shudata.catalog.writes import write_version  # noqa: E402
from shudata.core.config import Settings  # noqa: E402
from shudata.core.types import Actor  # noqa: E402
from shudata.db.runtime import Runtime  # noqa: E402
from shudata.privacy.synthdata import citizens  # noqa: E402
from shudata.quality.service import save_rule_set  # noqa: E402
from shudata.security.models import User  # noqa: E402
from shudata.security.service import actor_for  # noqa: E402
from shudata.sharing import prepare  # noqa: E402

CLIENT = ROOT / "tests" / ".venv-delta-sharing" / "bin" / "python"
TIMED = """
import glob, json, sys, time
import delta_sharing, pandas as pd
profile, table, folder = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
df = delta_sharing.load_table_changes_as_pandas(f"{profile}#{table}", starting_version=2)
client = time.perf_counter() - t0
path = glob.glob(folder + "/**/c2-*.parquet", recursive=True)[0]
t0 = time.perf_counter(); ref = pd.read_parquet(path); local = time.perf_counter() - t0
kinds = df["_change_type"].value_counts().to_dict()
print(json.dumps({"rows": len(df), "ref_rows": len(ref), "client_s": client, "pandas_s": local, "kinds": kinds}))
"""


def second_version(v1: pa.Table, seed: int = 8) -> pa.Table:
    """1% of the rows differ: 0.5% new income, 0.25% gone, 0.25% new rows."""
    n = v1.num_rows
    rng = np.random.default_rng(seed)
    pick = rng.permutation(n)
    changed, gone = pick[: n // 200], pick[n // 200: n // 200 + n // 400]
    income = np.asarray(v1.column("收入").to_numpy(), dtype=float).copy()
    income[changed] += 1000
    keep = np.ones(n, dtype=bool)
    keep[gone] = False
    v2 = v1.set_column(v1.schema.get_field_index("收入"), "收入", pa.array(income)).filter(pa.array(keep))
    new = citizens(max(1, n // 400), seed=seed + 1000)
    return pa.concat_tables([v2, new.cast(v2.schema)])


def load(profile: Path, table: str, folder: Path) -> dict[str, object]:
    done = subprocess.run([str(CLIENT), "-c", TIMED, str(profile), table, str(folder)],
                          capture_output=True, text=True, timeout=3600, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="client processes per case (each side's best counts)")
    ap.add_argument("--quick", action="store_true", help="100,000 rows")
    args = ap.parse_args()
    ensure("delta-sharing")
    rows = 100_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(env="test", data_dir=Path(tmp) / "data", query_timeout_s=600)
        rt = Runtime.build(settings)
        rt.migrate()
        tokens = setup(rt, rows)
        assert prepare.wait(timeout=3600)
        v2 = second_version(citizens(rows, seed=7))  # setup's version 1 is citizens(rows, seed=7)
        with rt.transaction() as s:
            owner = actor_for(s.query(User).filter_by(username="owner").one())
            save_rule_set(session=s, actor=owner, resource=CODE, spec=[{"type": "unique", "columns": ["身份证号"]}])
            res = find_resource(s, CODE)
            write_version(session=s, settings=settings, actor=Actor.system(), resource=res, batches_or_table=v2,
                          source_name="citizens-v2.parquet", source_format="parquet")
            prepare.after_version(s, settings, res.id)  # as an ingest does
        t_commit = time.perf_counter()
        assert prepare.wait(timeout=3600)
        prepare_s = time.perf_counter() - t_commit
        folder = settings.data_dir / "delivery"
        assert list(folder.glob("**/c2-*.parquet")), "the change file of version 2 is prepared"
        from shudata.web.app import create_app

        with LiveServer(create_app(runtime=rt, migrate=False)) as server:
            auth = {"Authorization": f"Bearer {tokens['consumer']}"}
            prof = httpx.post(f"{server.url}/api/v1/sharing/profile", headers=auth, timeout=60)
            prof.raise_for_status()
            profile = Path(tmp) / "bench.share"
            profile.write_text(prof.text)
            share = httpx.get(f"{server.url}/delta-sharing/shares", headers=auth).json()["items"][0]["name"]
            table = f"{share}.default.r_{CODE.replace('/', '_')}"
            warm = [load(profile, table, folder) for _ in range(args.runs)]
            cold = []
            for _ in range(args.runs):
                shutil.rmtree(folder)
                prepare.forget_caches()
                cold.append(load(profile, table, folder))
        rt.close()
    for name, results in (("prepared", warm), ("cold", cold)):
        for r in results:
            print(f"{name}: client loaded {r['rows']:,} change rows {r['kinds']} in {r['client_s']:.2f} s; "
                  f"read_parquet {r['ref_rows']:,} rows in {r['pandas_s']:.3f} s", file=sys.stderr)
    client_s = min(float(r["client_s"]) for r in warm)  # type: ignore[arg-type]
    pandas_s = min(float(r["pandas_s"]) for r in warm)  # type: ignore[arg-type]
    cold_s = min(float(r["client_s"]) for r in cold)  # type: ignore[arg-type]
    print(json.dumps({"figure": "deltasharing.changes_prepare_s", "value": round(prepare_s, 2), "unit": "s"}))
    print(f"best: client {client_s:.2f} s, read_parquet of the change file {pandas_s:.3f} s", file=sys.stderr)
    print(json.dumps({"figure": "deltasharing.changes_client_s", "value": round(client_s, 2), "unit": "s"}))
    print(json.dumps({"figure": "deltasharing.changes_cold_s", "value": round(cold_s, 2), "unit": "s"}))


if __name__ == "__main__":
    main()
