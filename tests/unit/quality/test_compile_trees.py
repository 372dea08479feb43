"""Row-rule predicates are sqlglot expression trees, not SQL text: every registered row rule
type's builder returns trees (predicate, sample, helper columns, join keys), and the DuckDB
text they render reads back as the same tree."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot import exp
from tests.unit.quality.examples import EXAMPLES

from shudata.quality.compile_exprs import BUILDERS, Ctx, row_check, sql
from shudata.quality.rules import parse_rule_set

CTX = Ctx(column_types={"经度": "double"}, as_of=dt.date(2024, 1, 1))
ROW_TYPES = sorted(k for k, v in EXAMPLES.items() if parse_rule_set([v]).rules[0].scope == "row")


def test_every_row_type_has_a_builder() -> None:
    assert set(ROW_TYPES) == set(BUILDERS)


@pytest.mark.parametrize("name", ROW_TYPES)
def test_builder_returns_trees(name: str) -> None:
    chk = row_check(parse_rule_set([EXAMPLES[name]]).rules[0], 0, CTX)
    parts = [chk.fails, chk.sample, *(e for _a, e in chk.helpers), *(j.left for j in chk.joins)]
    assert all(isinstance(p, exp.Expr) for p in parts)
    for p in parts:  # the rendered DuckDB SQL is the tree (nothing was pasted in as text)
        assert sqlglot.parse_one(sql(p), read="duckdb").sql("duckdb") == sql(p)
        assert not any(isinstance(n, exp.Anonymous) for n in p.walk()), "a function sqlglot does not know"
