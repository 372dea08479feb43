"""Benchmark of the quality engine (issue 4): 10 rules compiled to SQL vs a plain scan, pandera, GX.

    .venv/bin/python bench/quality.py [--rows 5000000] [--sample 500000] [--quick]

Figures (one JSON line each, last lines of the output):

- ``quality.ratio_vs_scan``: DuckDB's plain full scan of the same Parquet (one aggregate per
  checked column, so every value is read and decoded) divided by the time of checking the
  10 rules (one scan for all failure counts and the sample failing values). Target ≥ 0.3.
- ``quality.ratio_vs_pandera``: pandera (idiomatic, vectorised checks incl. numpy check digits)
  / ours, on a 500,000-row sample, each timed from reading the Parquet file to the result.
  Target ≥ 1.0.
- ``quality.ratio_vs_gx``: Great Expectations on pandas / ours on the same sample. Target ≥ 5.

pandera and great_expectations live in their own venvs (``bench/.venv-pandera``,
``bench/.venv-gx``, git-ignored), created on first use (:mod:`_peers`); a peer that fails to run
is reported as ``null`` with its error.
The table is generated (seeded numpy + a Faker zh_CN name pool), never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _peers import ensure

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
RULES = [
    {"type": "not_null", "column": "姓名"},
    {"type": "cn_id", "column": "身份证号"},
    {"type": "uscc", "column": "信用代码"},
    {"type": "format", "format": "mobile", "column": "手机"},
    {"type": "format", "format": "email", "column": "邮箱"},
    {"type": "enum", "column": "性别", "values": ["男", "女"]},
    {"type": "range", "column": "金额", "min": 0, "max": 100000},
    {"type": "date", "column": "登记日期"},
    {"type": "region_code", "column": "区划"},
    {"type": "id_sex", "id_column": "身份证号", "sex_column": "性别"},
]
ID_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
USCC_ALPHA = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
USCC_W = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])


def _digits(strings: np.ndarray, width: int) -> np.ndarray:
    return np.frombuffer(strings.astype(f"S{width}").tobytes(), dtype=np.uint8).reshape(len(strings), width)


def generate(n: int, seed: int = 4) -> pa.Table:
    """A people/enterprise register with ~2 % bad values per checked column."""
    from faker import Faker

    from shudata.standards.regions import sichuan_counties

    rng = np.random.default_rng(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    names = np.array([fake.name() for _ in range(3000)], dtype=object)
    regions = np.array([r.code for r in sichuan_counties()])
    reg = regions[rng.integers(0, len(regions), n)]
    birth = (np.datetime64("1940-01-01") + rng.integers(0, 365 * 80, n)).astype("datetime64[D]")
    body = np.char.add(np.char.add(reg, np.char.replace(birth.astype(str), "-", "")),
                       np.char.zfill(rng.integers(0, 1000, n).astype(str), 3))
    chk = np.array(list("10X98765432"))[((_digits(body, 17) - 48) * ID_W).sum(1) % 11]
    bad = rng.random(n) < 0.02
    ids = np.where(bad, np.char.add(body, "0"), np.char.add(body, chk))
    sex = np.where((_digits(body, 17)[:, 16] - 48) % 2 == 1, "男", "女")
    ubody = np.char.add(np.char.add("91", reg), USCC_ALPHA[rng.integers(0, 31, (n, 9))].view("<U9").ravel())
    uval = np.array([USCC_ALPHA.tolist().index(c) for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"])
    lut = np.zeros(128, dtype=np.int64)
    lut[[ord(c) for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"]] = uval
    ucheck = USCC_ALPHA[(31 - (lut[_digits(ubody, 17)] * USCC_W).sum(1) % 31) % 31]
    uscc = np.where(rng.random(n) < 0.02, np.char.add(ubody, "I"), np.char.add(ubody, ucheck))
    phone = np.char.add("13", np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    phone = np.where(rng.random(n) < 0.02, np.char.add("12", phone), phone)
    email = np.where(rng.random(n) < 0.02, "bad@", np.char.add(np.char.zfill(rng.integers(0, 10**6, n).astype(str),
                                                                            6), "@sc.gov.cn"))
    amount = np.round(rng.gamma(2.0, 3000.0, n), 2)
    amount[rng.random(n) < 0.02] = -1.0
    reg_date = (np.datetime64("2015-01-01") + rng.integers(0, 3000, n)).astype("datetime64[D]").astype(str)
    region_col = np.where(rng.random(n) < 0.02, "519999", reg)
    name_col = names[rng.integers(0, len(names), n)]
    name_col[rng.random(n) < 0.02] = None
    return pa.table({"姓名": pa.array(name_col, pa.string()), "身份证号": ids.astype(object),
                     "性别": sex.astype(object), "手机": phone.astype(object), "邮箱": email.astype(object),
                     "信用代码": uscc.astype(object), "金额": amount, "登记日期": reg_date.astype(object),
                     "区划": region_col.astype(object)})


def dataset(n: int) -> Path:
    path = OUT / f"quality_{n}.parquet"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        table = generate(n)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, row_group_size=122_880)
        tmp.replace(path)
    return path


PLACEHOLDERS = ("N/A", "NA", "n/a", "无", "空", "-", "—", "NULL", "null")
ID_RE = "[0-9]{17}[0-9Xx]"
USCC_RE = "[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}"
MOBILE_RE = r"(\+?86)?1[3-9][0-9]{9}"
EMAIL_RE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"


def naive_sql() -> str:
    """The 10 rules as one hand-written DuckDB query, written the straightforward way: a failure
    count per rule (``SUM(CASE …)``), check digits by ``substr`` arithmetic, regexes with
    ``regexp_full_match``, region codes with ``IN (SELECT …)``. The calibration of
    ``quality.naive_ratio_vs_scan`` (what plain SQL gets on this machine)."""
    marks = ", ".join("'" + p + "'" for p in ("", *PLACEHOLDERS))

    def present(c: str) -> str:
        return f'("{c}" IS NOT NULL AND TRIM("{c}") NOT IN ({marks}))'

    def fails(c: str, valid: str) -> str:
        return f"SUM(CASE WHEN {present(c)} AND NOT COALESCE({valid}, FALSE) THEN 1 ELSE 0 END)"

    idv = '"身份证号"'
    id_sum = " + ".join(f"TRY_CAST(substr({idv}, {k + 1}, 1) AS INTEGER) * {w}" for k, w in enumerate(ID_W.tolist()))
    id_ok = (f"regexp_full_match({idv}, '{ID_RE}') "
             f"AND substr('10X98765432', ({id_sum}) % 11 + 1, 1) = upper(substr({idv}, 18, 1)) "
             f"AND TRY_CAST(substr({idv}, 7, 4) || '-' || substr({idv}, 11, 2) || '-' || substr({idv}, 13, 2) AS DATE) "
             f"BETWEEN DATE '1880-01-01' AND current_date "
             f"AND substr({idv}, 1, 6) IN (SELECT code FROM __ref_regions)")
    u, alpha = '"信用代码"', "0123456789ABCDEFGHJKLMNPQRTUWXY"
    u_sum = " + ".join(f"(instr('{alpha}', substr({u}, {k + 1}, 1)) - 1) * {w}" for k, w in enumerate(USCC_W.tolist()))
    uscc_ok = (f"regexp_full_match({u}, '{USCC_RE}') AND substr({u}, 1, 1) IN "
               "('1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'N', 'Y') "
               f"AND (31 - ({u_sum}) % 31) % 31 = instr('{alpha}', substr({u}, 18, 1)) - 1")
    sex = "CASE WHEN TRIM(\"性别\") = '男' THEN TRUE WHEN TRIM(\"性别\") = '女' THEN FALSE END"
    sex_fails = (f"SUM(CASE WHEN {present('身份证号')} AND {present('性别')} AND length({idv}) = 18 "
                 f"AND regexp_full_match(substr({idv}, 17, 1), '[0-9]') "
                 f"AND ({sex}) <> (TRY_CAST(substr({idv}, 17, 1) AS INTEGER) % 2 = 1) THEN 1 ELSE 0 END)")
    counts = [
        ("not_null:姓名", f"SUM(CASE WHEN NOT {present('姓名')} THEN 1 ELSE 0 END)"),
        ("cn_id:身份证号", fails("身份证号", id_ok)),
        ("uscc:信用代码", fails("信用代码", uscc_ok)),
        ("mobile:手机", fails("手机", f"regexp_full_match(replace(\"手机\", ' ', ''), '{MOBILE_RE}')")),
        ("email:邮箱", fails("邮箱", f"regexp_full_match(\"邮箱\", '{EMAIL_RE}')")),
        ("enum:性别", fails("性别", "\"性别\" IN ('男', '女')")),
        ("range:金额", 'SUM(CASE WHEN "金额" NOT BETWEEN 0 AND 100000 THEN 1 ELSE 0 END)'),
        ("date:登记日期", fails("登记日期", "regexp_full_match(\"登记日期\", '[0-9]{4}-[0-9]{2}-[0-9]{2}') "
                                       "AND TRY_CAST(\"登记日期\" AS DATE) IS NOT NULL")),
        ("region_code:区划", fails("区划", "regexp_full_match(\"区划\", '[0-9]{6}') "
                                         "AND \"区划\" IN (SELECT code FROM __ref_regions)")),
        ("id_sex:身份证号,性别", sex_fails),
    ]
    return "SELECT " + ", ".join(f'{expr} AS "{key}"' for key, expr in counts) + " FROM t"


def best_of(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def ours(path: Path, repeat: int, naive: bool = False) -> tuple[float, float, dict[str, int], float | None]:
    """(scan seconds, check seconds, failures per rule, naive SQL seconds or None) on ``path``;
    with ``naive``, the hand-written query of :func:`naive_sql` must count the same failures."""
    from shudata.quality.reference import default_cache_dir, region_sources
    from shudata.quality.rules import parse_rule_set
    from shudata.quality.run import Target, evaluate
    from shudata.query.engines.duckdb import DuckDBEngine

    engine = DuckDBEngine(threads=2, memory_limit="2GB")
    target = Target.from_parquet("t", [path])
    rules = parse_rule_set(RULES)
    lookups = region_sources(default_cache_dir())
    used = sorted(rules.columns_used())
    aggs = ", ".join(f'SUM("{c}")' if target.types[c] == "double" else f'MAX(LENGTH("{c}"))' for c in used)
    scan_sql = f"SELECT COUNT(*), {aggs} FROM t"
    tables = {"t": target.source}
    engine.query(scan_sql, tables)  # warm the file cache
    scan = best_of(lambda: engine.query(scan_sql, tables), repeat)
    holder: dict[str, object] = {}

    def run() -> None:
        holder["r"] = evaluate(engine, Target.from_parquet("t", [path]), rules, lookups=lookups, null_stats=False)

    run()  # warm up as the scan was (file cache, reference tables)
    check = best_of(run, repeat)
    report = holder["r"]
    failures = {r.key: r.failed for r in report.results}  # type: ignore[attr-defined]
    naive_s = None
    if naive:
        nsql, ntables = naive_sql(), {"t": target.source, "__ref_regions": lookups["__ref_regions"]}
        naive_counts = {k: int(v) for k, v in engine.query(nsql, ntables).to_pylist()[0].items()}
        if naive_counts != failures:
            raise SystemExit(f"naive SQL and the engine disagree: {naive_counts} vs {failures}")
        naive_s = best_of(lambda: engine.query(nsql, ntables), repeat)
    return scan, check, failures, naive_s


PANDERA_WORKER = r'''
import json, sys, time
import numpy as np, pandas as pd, pandera.pandas as pa
path, regions_path = sys.argv[1], sys.argv[2]
regions = set(pd.read_parquet(regions_path)["code"])
W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
UA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UW = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
LUT = np.full(128, -1, dtype=np.int64); LUT[[ord(c) for c in UA]] = np.arange(31)

def id_ok(s):
    v = s.fillna("")
    ok = v.str.fullmatch(r"[0-9]{17}[0-9Xx]")
    b = np.frombuffer(v.where(ok, "0" * 18).str.upper().to_numpy().astype("S18").tobytes(), np.uint8).reshape(-1, 18)
    chk = np.array(list("10X98765432"))[((b[:, :17] - 48) * W).sum(1) % 11]
    birth = pd.to_datetime(v.str.slice(6, 14), format="%Y%m%d", errors="coerce")
    region = v.str.slice(0, 6).isin(regions)
    return ok & (chk == b[:, 17].view("S1").astype(str)) & birth.notna() & region | s.isna()

def uscc_ok(s):
    v = s.fillna("")
    ok = v.str.fullmatch(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
    b = np.frombuffer(v.where(ok, "0" * 18).to_numpy().astype("S18").tobytes(), np.uint8).reshape(-1, 18)
    total = (LUT[b[:, :17]] * UW).sum(1)
    chk = np.array(list(UA))[(31 - total % 31) % 31]
    return ok & (chk == b[:, 17].view("S1").astype(str)) | s.isna()

def sex_ok(df):
    d = df["身份证号"].fillna("").str.slice(16, 17)
    odd = pd.to_numeric(d, errors="coerce") % 2 == 1
    return ~df["身份证号"].str.fullmatch(r"[0-9]{17}[0-9Xx]").fillna(False) | (odd == (df["性别"] == "男"))

schema = pa.DataFrameSchema({
    "姓名": pa.Column(str, nullable=False),
    "身份证号": pa.Column(str, pa.Check(id_ok, element_wise=False), nullable=True),
    "信用代码": pa.Column(str, pa.Check(uscc_ok), nullable=True),
    "手机": pa.Column(str, pa.Check.str_matches(r"^(\+?86)?1[3-9][0-9]{9}$"), nullable=True),
    "邮箱": pa.Column(str, pa.Check.str_matches(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"),
                    nullable=True),
    "性别": pa.Column(str, pa.Check.isin(["男", "女"]), nullable=True),
    "金额": pa.Column(float, pa.Check.in_range(0, 100000), nullable=True),
    "登记日期": pa.Column(str, pa.Check(lambda s: pd.to_datetime(s, format="%Y-%m-%d", errors="coerce").notna()),
                      nullable=True),
    "区划": pa.Column(str, pa.Check.isin(regions), nullable=True),
}, checks=[pa.Check(sex_ok)])
best = 1e9
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    df = pd.read_parquet(path)
    try:
        schema.validate(df, lazy=True)
        failures = 0
    except pa.errors.SchemaErrors as e:
        failures = len(e.failure_cases)
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "failures": failures}))
'''

GX_WORKER = r'''
import json, sys, time, warnings, logging
warnings.filterwarnings("ignore"); logging.disable(logging.WARNING)
import pandas as pd, great_expectations as gx
path, regions_path = sys.argv[1], sys.argv[2]
regions = sorted(set(pd.read_parquet(regions_path)["code"]))
ctx = gx.get_context(mode="ephemeral")
source = ctx.data_sources.add_pandas("p")
asset = source.add_dataframe_asset("t")
batch_def = asset.add_batch_definition_whole_dataframe("b")
E = gx.expectations
USCC = r"^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$"
EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
suite = gx.ExpectationSuite(name="s")
for e in [E.ExpectColumnValuesToNotBeNull(column="姓名"),
          E.ExpectColumnValuesToMatchRegex(column="身份证号", regex=r"^[0-9]{17}[0-9Xx]$"),
          E.ExpectColumnValuesToMatchRegex(column="信用代码", regex=USCC),
          E.ExpectColumnValuesToMatchRegex(column="手机", regex=r"^(\+?86)?1[3-9][0-9]{9}$"),
          E.ExpectColumnValuesToMatchRegex(column="邮箱", regex=EMAIL),
          E.ExpectColumnValuesToBeInSet(column="性别", value_set=["男", "女"]),
          E.ExpectColumnValuesToBeBetween(column="金额", min_value=0, max_value=100000),
          E.ExpectColumnValuesToMatchStrftimeFormat(column="登记日期", strftime_format="%Y-%m-%d"),
          E.ExpectColumnValuesToBeInSet(column="区划", value_set=regions),
          E.ExpectColumnPairValuesToBeInSet(column_A="性别", column_B="性别",
                                            value_pairs_set=[("男", "男"), ("女", "女")])]:
    suite.add_expectation(e)
suite = ctx.suites.add(suite)
vd = ctx.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch_def, suite=suite))
best = 1e9
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    df = pd.read_parquet(path)
    res = vd.run(batch_parameters={"dataframe": df})
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "success": bool(res.success)}))
'''


def worker(venv: str, code: str, path: Path, repeat: int) -> float | None:
    python = ensure(venv)  # bench/.venv-NAME, created on first use
    from shudata.quality.reference import default_cache_dir, region_sources

    regions = region_sources(default_cache_dir())["__ref_regions"].files[0]
    out = subprocess.run([str(python), "-c", code, str(path), str(regions), str(repeat)], capture_output=True,
                         text=True, timeout=3600, check=False)
    if out.returncode != 0:
        print(f"# {venv} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def sample(path: Path, n: int) -> Path:
    out = OUT / f"quality_sample_{n}.parquet"
    if not out.exists():
        table = pq.read_table(path).slice(0, n)
        pq.write_table(table, out, row_group_size=122_880)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--sample", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1,000,000 rows, 200,000-row sample, 1 repeat")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.sample, args.repeat = 1_000_000, 200_000, 1
    path = dataset(args.rows)
    load = os.getloadavg()
    scan, check, failures, naive = ours(path, args.repeat, naive=True)
    print(f"# rows {args.rows}: scan {scan:.3f}s, check {check:.3f}s, naive SQL {naive:.3f}s; "
          f"failures {failures}; load {load[0]:.1f} → {os.getloadavg()[0]:.1f}", file=sys.stderr)
    small = sample(path, args.sample)
    _s, ours_small, _f, _n = ours(small, args.repeat)
    pandera = worker("pandera", PANDERA_WORKER, small, args.repeat)
    gxt = worker("gx", GX_WORKER, small, args.repeat)
    print(f"# sample {args.sample}: ours {ours_small:.3f}s, pandera {pandera}, gx {gxt}", file=sys.stderr)
    figures = [("quality.ratio_vs_scan", scan / check, 0.3),
               ("quality.naive_ratio_vs_scan", scan / naive if naive else None, None),
               ("quality.ratio_vs_pandera", pandera / ours_small if pandera else None, 1.0),
               ("quality.ratio_vs_gx", gxt / ours_small if gxt else None, 5.0)]
    for name, value, target in figures:
        print(json.dumps({"figure": name, "value": None if value is None else round(value, 3), "target": target,
                          "unit": "ratio"}))


if __name__ == "__main__":
    main()
