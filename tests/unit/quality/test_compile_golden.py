"""Golden SQL: every row rule compiled for DuckDB and Spark (``tests/golden/quality``).

Regenerate after an intended change with ``SHUDATA_UPDATE_GOLDEN=1 pytest tests/unit/quality``
and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlglot
import yaml
from tests.unit.quality.examples import EXAMPLES

from shudata.quality.compile import compile_check, failing_rows_sql, split_sql
from shudata.quality.compile_exprs import Ctx
from shudata.quality.rules import parse_rule_set

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "quality"
CTX = Ctx(column_types={"经度": "double"}, as_of=dt.date(2024, 1, 1), ref_tables={"reference:信用代码": "legal"})
ROW_TYPES = sorted(k for k, v in EXAMPLES.items()
                   if parse_rule_set([v]).rules[0].scope == "row")


def _columns(spec: dict[str, object]) -> list[str]:
    return sorted(parse_rule_set([spec]).columns_used()) or ["x"]


def _render(name: str) -> dict[str, object]:
    spec = EXAMPLES[name]
    rule = parse_rule_set([spec]).rules[0]
    cols = _columns(spec)
    out: dict[str, object] = {"rule": spec, "columns": cols}
    for dialect in ("duckdb", "spark"):
        out[dialect] = failing_rows_sql(rule, table="t", columns=cols, ctx=CTX, dialect=dialect)
    return out


@pytest.mark.parametrize("name", ROW_TYPES)
def test_golden_sql(name: str) -> None:
    path = GOLDEN / f"{name}.yaml"
    got = _render(name)
    if os.environ.get("SHUDATA_UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(got, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")
    expected = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert got == expected


@pytest.mark.parametrize("name", ROW_TYPES)
def test_spark_sql_parses_back(name: str) -> None:
    sql = _render(name)["spark"]
    assert isinstance(sql, str)
    tree = sqlglot.parse_one(sql, read="spark")
    assert tree.find(sqlglot.exp.Select) is not None
    assert "REGEXP_MATCHES" not in sql and "STRPOS(" not in sql  # DuckDB-only names were translated


def test_check_query_has_one_failure_column_per_row_rule() -> None:
    rs = parse_rule_set([EXAMPLES["not_null"], EXAMPLES["uscc"], EXAMPLES["row_count"]])
    c = compile_check(rs.rules, table="t", columns=["名称", "信用代码"], ctx=CTX, null_stats=True)
    assert c.row_keys == ("not_null:名称", "uscc:信用代码")
    sql = c.sql("spark")
    assert "__fail0" in sql and "__fail1" in sql and "__fail2" not in sql
    assert "__null0" in sql and "__null1" in sql


def test_split_queries_are_complements() -> None:
    rs = parse_rule_set([EXAMPLES["not_null"], EXAMPLES["length"]])
    s = split_sql(rs.rules, table="t", columns=["名称"], ctx=CTX)
    assert 'WHERE NOT ("__f0" OR "__f1")' in s.accepted
    assert 'WHERE "__f0" OR "__f1"' in s.quarantined
