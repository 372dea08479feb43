"""k-anonymity counting inside the query engine (DuckDB or Spark): the whole table never comes back.

The lattice search works on *distinct* quasi-identifier tuples with their row counts
(:class:`~shudata.privacy.kanon.data.Encoded`); risk works on equivalence-class sizes. Both are
one ``GROUP BY`` over the version's files, which the engine runs where the data is — on Spark for
a resource routed there — and only the (much smaller) grouped rows reach the platform:

* :func:`tuple_counts_sql` / :func:`tuple_counts` — distinct ``(QI…, sensitive)`` tuples and counts;
* :func:`encode_counts` — those counts encoded for the search (same classes, suppression and
  optimum as :func:`~shudata.privacy.kanon.data.encode` over the whole table);
* :func:`class_sizes_sql` / :func:`engine_risk` — equivalence-class sizes and the risk summary.

Values are compared as text, NULL as ``'NULL'`` — as :mod:`~shudata.privacy.kanon.data` does.

>>> print(tuple_counts_sql(["年龄"], "病种", dialect="spark"))  # doctest: +NORMALIZE_WHITESPACE
SELECT COALESCE(CAST(`年龄` AS STRING), 'NULL') AS `年龄`, COALESCE(CAST(`病种` AS STRING), 'NULL') AS `病种`,
 COUNT(*) AS `__n` FROM `t` GROUP BY 1, 2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from shudata.privacy.kanon.data import Encoded, _level_codes
from shudata.privacy.kanon.hierarchy import Hierarchy
from shudata.privacy.kanon.risk import RiskSummary, risk_of_sizes
from shudata.query.engines.base import Engine, Limits, TableSource
from shudata.query.engines.dialects import for_engine

COUNT = "__n"
LONG = Limits(timeout_s=3600)


def _text(column: str) -> exp.Expr:
    return exp.func("COALESCE", exp.cast(exp.column(column, quoted=True), "VARCHAR"), exp.Literal.string("NULL"))


def _grouped(columns: Sequence[str], table: str) -> exp.Select:
    items = [exp.alias_(_text(c), c, quoted=True) for c in columns]
    items.append(exp.alias_(exp.Count(this=exp.Star()), COUNT, quoted=True))
    query = exp.select(*items).from_(exp.Table(this=exp.to_identifier(table, quoted=True)))
    return query.group_by(*[exp.Literal.number(i) for i in range(1, len(columns) + 1)]) if columns else query


def tuple_counts_sql(qis: Sequence[str], sensitive: str | None = None, table: str = "t",
                     dialect: str = "duckdb") -> str:
    """Distinct ``(QI…, sensitive)`` tuples (as text, NULL as ``'NULL'``) and their row counts."""
    return for_engine(_grouped([*qis, *([sensitive] if sensitive else [])], table), dialect)


def tuple_counts(engine: Engine, source: TableSource, qis: Sequence[str], sensitive: str | None = None,
                 limits: Limits = LONG) -> pa.Table:
    """:func:`tuple_counts_sql` run by ``engine`` over ``source`` (its table name)."""
    return engine.query(tuple_counts_sql(qis, sensitive, source.name, engine.dialect), {source.name: source}, limits)


def encode_counts(counts: pa.Table, qis: Sequence[str], hierarchies: Mapping[str, Hierarchy],
                  sensitive: str | None = None) -> Encoded:
    """Encode the grouped rows of :func:`tuple_counts` for the lattice search.

    Every search result (classes, suppressed rows, the optimum) equals that of
    :func:`~shudata.privacy.kanon.data.encode` over the whole table. ``row_tuple`` is empty:
    applying a node to the rows is a separate step.
    """
    cols, gens, radixes = [], [], []
    for q in qis:
        h = hierarchies[q]
        values = pd.Series(counts.column(q).to_pylist(), dtype=object)
        h.require_covers(values.unique())
        cols.append(pd.Categorical(values, categories=list(h.leaves)).codes.astype(np.int64))
        g, r = _level_codes(h)
        gens.append(g)
        radixes.append(r)
    weights = np.asarray(counts.column(COUNT).to_numpy(zero_copy_only=False), dtype=np.int64)
    frame = pd.DataFrame(np.column_stack(cols) if cols else np.zeros((counts.num_rows, 0), np.int64))
    s_values: tuple[str, ...] = ()
    if sensitive is not None:
        s_codes, s_uniques = pd.factorize(pd.Series(counts.column(sensitive).to_pylist(), dtype=object), sort=True)
        frame["__s"] = s_codes
        s_values = tuple(str(v) for v in s_uniques)
    frame["__n"] = weights
    # values that differ as text but share a leaf (none for exact leaves) fold into one tuple
    grouped = frame.groupby([c for c in frame.columns if c != "__n"], sort=False)["__n"].sum().reset_index()
    return Encoded(qis=tuple(qis), hierarchies=tuple(hierarchies[q] for q in qis),
                   tuples=grouped[list(range(len(qis)))].to_numpy(dtype=np.int64),
                   weights=grouped["__n"].to_numpy(dtype=np.int64),
                   sensitive=grouped["__s"].to_numpy(dtype=np.int64) if sensitive is not None else None,
                   sensitive_values=s_values, gen=tuple(gens), radix=tuple(radixes), rows=int(weights.sum()),
                   row_tuple=np.zeros(0, dtype=np.int64))


def class_sizes_sql(qis: Sequence[str], table: str = "t", dialect: str = "duckdb", suppressed: str | None = "*"
                    ) -> str:
    """Rows per equivalence class over ``qis``; records whose QIs are all ``suppressed`` are left out."""
    query = _grouped(qis, table)
    if suppressed is not None and qis:
        query = query.where(exp.not_(exp.and_(*[exp.EQ(this=_text(q), expression=exp.Literal.string(suppressed))
                                                 for q in qis])))
    return for_engine(exp.select(exp.column(COUNT, quoted=True)).from_(query.subquery("c")), dialect)


def engine_risk(engine: Engine, source: TableSource, qis: Sequence[str], limits: Limits = LONG) -> RiskSummary:
    """The re-identification risk of ``source`` over ``qis``, counted in ``engine``
    (the same summary as :func:`~shudata.privacy.kanon.risk.table_risk` of the whole table)."""
    sizes = engine.query(class_sizes_sql(qis, source.name, engine.dialect), {source.name: source}, limits)
    return risk_of_sizes(np.asarray(sizes.column(0).to_numpy(zero_copy_only=False), dtype=float))
