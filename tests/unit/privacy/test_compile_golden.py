"""Golden files: every policy in tests/golden/privacy compiles to the stored SQL for DuckDB
*and* Spark, and the DuckDB run gives the stored output. A Spark engine must give the same
output from its SQL (that test is added with the engine).

Regenerate after an intended change with ``SHUDATA_UPDATE_GOLDEN=1 pytest …`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from shudata.privacy.compile import compile_plan, compile_policy, udf_names
from shudata.privacy.mask import mask_table
from shudata.privacy.policy import Policy

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "privacy"
CASES = sorted(p.stem for p in GOLDEN.glob("*.yaml"))
KEYS = {"k1": bytes(range(16))}
TYPES = {"string": pa.string(), "int64": pa.int64(), "double": pa.float64(), "date": pa.date32()}
UPDATE = os.environ.get("SHUDATA_UPDATE_GOLDEN") == "1"


def load(case: str) -> tuple[Policy, pa.Table]:
    spec = yaml.safe_load((GOLDEN / f"{case}.yaml").read_text(encoding="utf-8"))
    cols = {}
    for name, col in spec["table"].items():
        values = col["values"]
        if col["type"] == "date":
            values = [dt.date.fromisoformat(v) if v else None for v in values]
        cols[name] = pa.array(values, type=TYPES[col["type"]])
    return Policy.parse(spec["policy"]), pa.table(cols)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def check(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {path.name}; run with SHUDATA_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
@pytest.mark.parametrize("case", CASES)
def test_policy_compiles_to_the_golden_sql(case: str, dialect: str) -> None:
    policy, table = load(case)
    plan = compile_plan(policy, table.schema, keys=KEYS)
    check(GOLDEN / f"{case}.{dialect}.sql", plan.sql("t", dialect) + "\n")


@pytest.mark.parametrize("case", CASES)
def test_duckdb_output_matches_the_golden_rows(case: str) -> None:
    policy, table = load(case)
    out = mask_table(table, compile_plan(policy, table.schema, keys=KEYS))
    rows = [{k: _json(v) for k, v in r.items()} for r in out.to_pylist()]
    check(GOLDEN / f"{case}.out.json", json.dumps(rows, ensure_ascii=False, indent=1) + "\n")


def test_compile_policy_gives_the_sandbox_only_the_changed_columns() -> None:
    policy, table = load("keyed")
    exprs = compile_policy(policy, table.schema, "spark")
    assert set(exprs) == set(policy.columns)
    assert "病人编号" not in exprs
    assert udf_names(exprs) == ["SHUDATA_FPE", "SHUDATA_PSEUDONYM", "SHUDATA_SHIFT_DAYS", "SHUDATA_SM4",
                                "SHUDATA_SYNTHETIC"]
