"""CPU cost of the keyed masking UDFs, per row and per part, against a baseline commit in the same run.

The two keyed Arrow UDFs of bench/spark.py's policy (tests/support/spark.py ``POLICY``):
``shudata_pseudonym`` on 银行卡号 and ``shudata_fpe`` (kind ``mobile``) on 手机号, over the bench's
generated citizens (``messy_citizens``: NULLs, padded values), called batch by batch as Spark's
Python workers call them (``--batch``, default Spark's ``maxRecordsPerBatch`` 10,000). Parts:

* ``buffers``: Arrow string array → (data, offsets) buffers (``sm3_vec._as_buffers``);
* ``digests``: HMAC-SM3 of every value (``udfs.digests``: the buffers, then the kernel);
* ``format``: the digests as tokens (``hex_tokens`` for pseudonyms, ``fake_mobiles`` for mobiles);
* ``nulls``: putting the NULLs back (``udfs._keep_nulls``);
* ``udf``: the whole UDF call, as the engines make it (key lookup and sub-key derivation included).

``sm4.udf``: the SM4 operator (``shudata_sm4``, not in that policy) on 银行卡号, whole calls only.

The baseline (``--baseline``, default the commit before the kernel rewrite) is extracted with
``git archive`` and measured in its own worker process; baseline and current workers alternate
``--rounds`` times and the smallest CPU time of each figure is kept (the machine is shared).
Figures are CPU microseconds per row (``time.process_time``), one JSON line each.

Usage: .venv/bin/python bench/keyed_kernels.py [--quick] [--rows N] [--batch N] [--rounds N] [--baseline REV]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = "2d3fc93"  # the code before the kernel rewrite (issue 17)
KEYS = {"k1": bytes(range(16))}
UDFS = {"pseudonym": "银行卡号", "fpe_mobile": "手机号"}


def emit(figure: str, value: float, unit: str, **extra: Any) -> None:
    print(json.dumps({"figure": figure, "value": round(value, 4), "target": None, "unit": unit, **extra},
                     ensure_ascii=False), flush=True)


def cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(data: Path, batch: int) -> dict[str, float]:
    """CPU seconds of each part over all batches of the columns (run inside a worker)."""
    import pyarrow as pa  # imported here: after sys.path points at the tree measured
    import pyarrow.parquet as pq

    from shudata.privacy.operators import udfs
    from shudata.security.crypto import sm3_vec

    table = pq.read_table(data)
    kid = pa.array(["k1"])
    out: dict[str, float] = {}

    def add(name: str, seconds: float) -> None:
        out[name] = out.get(name, 0.0) + seconds

    def parts(name: str, column: str, label: str, call: Callable[[pa.Array], pa.Array],
              fmt: Callable[[Any, pa.Array], pa.Array]) -> None:
        key = udfs.subkey(KEYS["k1"], label)
        col = table.column(column).combine_chunks()
        call(col.slice(0, batch))  # warm-up: numba kernels load, caches fill
        for start in range(0, len(col), batch):
            v = col.slice(start, batch)
            add(f"{name}.udf", cpu(lambda: call(v)))  # noqa: B023 - called at once, in this iteration
            add(f"{name}.buffers", cpu(lambda: sm3_vec._as_buffers(v.fill_null(""))))  # noqa: B023
            add(f"{name}.digests", cpu(lambda: udfs.digests(key, v)))  # noqa: B023
            d = udfs.digests(key, v)
            formatted = fmt(d, v)
            add(f"{name}.format", cpu(lambda: fmt(d, v)))  # noqa: B023
            add(f"{name}.nulls", cpu(lambda: udfs._keep_nulls(v, formatted)))  # noqa: B023

    pseudonym, fpe = udfs.pseudonym_udf(KEYS).fn, udfs.fpe_udf(KEYS).fn
    width, kind = pa.array([16]), pa.array(["mobile"])
    parts("pseudonym", UDFS["pseudonym"], "pseudonym", lambda v: pseudonym(v, kid, width),
          lambda d, _v: sm3_vec.hex_tokens(d, 16))
    parts("fpe_mobile", UDFS["fpe_mobile"], "fpe:mobile", lambda v: fpe(v, kid, kind), udfs.fake_mobiles)

    sm4 = udfs.sm4_udf(KEYS, "101001/000009").fn  # not in the bench's policy, but a masking path
    col = table.column(UDFS["pseudonym"]).combine_chunks()
    sm4(col.slice(0, batch), kid)
    for start in range(0, len(col), batch):
        v = col.slice(start, batch)
        add("sm4.udf", cpu(lambda: sm4(v, kid)))  # noqa: B023
    out["rows"] = float(len(table))
    return out


def worker(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(args.src)))
    print(json.dumps(measure(Path(args.data), args.batch)))


def extract(rev: str, into: Path) -> Path:
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src/shudata"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run_worker(src: Path, data: Path, batch: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, __file__, "--worker", "--src", str(src), "--data", str(data),
                           "--batch", str(batch)], check=True, capture_output=True, text=True, env=env)
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="200,000 rows, 2 rounds")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=10_000, help="rows per UDF call (Spark's maxRecordsPerBatch)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline", default=BASELINE, help="git revision measured as the baseline")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--src", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    rows, rounds = (200_000, 2) if args.quick else (args.rows, args.rounds)
    sys.path.insert(0, str(ROOT))
    import pyarrow.parquet as pq
    from tests.support.spark import messy_citizens

    with tempfile.TemporaryDirectory(prefix="keyed-bench-") as tmp:
        data = Path(tmp) / "citizens.parquet"
        pq.write_table(messy_citizens(rows).select(list(UDFS.values())), data)
        trees = {"baseline": extract(args.baseline, Path(tmp) / "baseline"), "current": ROOT / "src"}
        best: dict[str, dict[str, float]] = {}
        for _ in range(rounds):
            for label, src in trees.items():
                got = run_worker(src, data, args.batch)
                best[label] = {k: min(v, best.get(label, {}).get(k, v)) for k, v in got.items()}
    load = os.getloadavg()[0]
    for figure in sorted(k for k in best["current"] if k != "rows"):
        before, after = best["baseline"].get(figure), best["current"][figure]
        emit(f"keyed.{figure}_us_per_row", after / rows * 1e6, "µs/row (CPU)",
             baseline=None if before is None else round(before / rows * 1e6, 4),
             speedup=None if not before or not after else round(before / after, 2))
    emit("keyed.load_average", load, "1-min load", rows=rows, batch=args.batch, rounds=rounds,
         baseline_rev=args.baseline)


if __name__ == "__main__":
    main()
