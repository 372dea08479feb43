"""Policy → column rewrites (sqlglot expressions) that any engine runs at scan speed.

:func:`compile_policy` is the contract with the query sandbox: it returns exactly the
``column_exprs`` of a :class:`~shudata.query.access.TableAccess`. :func:`compile_plan`
also returns the vectorised functions the expressions call (keyed pseudonyms, SM4,
format-preserving pseudonyms, synthetic values) and the preflight checks, for
:mod:`shudata.privacy.mask`. The trees are dialect-neutral; generate them with
``.sql(dialect)`` (``duckdb`` now, ``spark`` later).

>>> import pyarrow as pa
>>> from shudata.privacy.policy import Policy
>>> pol = Policy.parse({"name": "p", "columns": {"m": {"op": "partial_mask", "keep_head": 3, "keep_tail": 4}}})
>>> exprs = compile_policy(pol, pa.schema([("m", pa.string()), ("n", pa.int64())]), "spark")
>>> list(exprs), exprs["m"].sql("spark")[:59]
(['m'], 'CASE WHEN LENGTH(`m`) - 7 BETWEEN 1 AND 32 THEN OVERLAY(`m`')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from shudata.core.errors import InvalidInput
from shudata.privacy.operators.base import CompileContext, Operator, PreflightCheck, type_family
from shudata.privacy.policy import Policy, resolve
from shudata.query.engines.base import ScalarUdf

DIALECTS = ("duckdb", "spark", "postgres", "sqlite")


@dataclass(frozen=True)
class CompiledPolicy:
    """Everything needed to run a policy over one table."""

    columns: tuple[str, ...]
    column_exprs: dict[str, exp.Expression]  # only the columns that change
    operators: dict[str, Operator]
    udfs: tuple[ScalarUdf, ...]
    checks: tuple[PreflightCheck, ...]

    def select(self, table: str) -> exp.Select:
        """``SELECT <rewrites or columns> FROM table`` keeping column names and order."""
        items = []
        for c in self.columns:
            expr = self.column_exprs.get(c)
            items.append(exp.alias_(expr.copy() if expr is not None else exp.column(c, quoted=True), c, quoted=True))
        return exp.select(*items).from_(exp.to_table(table, quoted=True) if table.isidentifier() else
                                        exp.Table(this=exp.to_identifier(table, quoted=True)))

    def sql(self, table: str, dialect: str = "duckdb") -> str:
        return self.select(table).sql(dialect)

    def key_ids(self) -> set[str]:
        return {k for op in self.operators.values() for k in op.key_ids()}


def compile_plan(policy: Policy, schema: pa.Schema, *, findings: Mapping[str, str | None] | None = None,
                 keys: Mapping[str, bytes] | None = None, binding: str | None = None) -> CompiledPolicy:
    """Compile ``policy`` for a table with ``schema`` (and detected ``findings``); reversible
    operators bind their output to ``binding``, the code of the resource the table comes from."""
    ops = resolve(policy, schema, findings)
    udfs: dict[str, ScalarUdf] = {}
    exprs: dict[str, exp.Expression] = {}
    checks: list[PreflightCheck] = []
    for name, op in ops.items():
        if op.name == "keep":
            continue
        if op.writes_control_chars():  # parsing refuses them; a spec built around it must not run either
            raise InvalidInput(f"列“{name}”的脱敏算子“{op.zh}”（{op.name}）的参数含有不可见的控制字符，不能用它脱敏；"
                               "请在策略编辑器中改正后重新保存", f"A parameter of the masking operator {op.name} of "
                               f"column {name!r} holds control characters: it cannot mask; correct and save the policy",
                               code="control_characters", details={"column": name, "operator": op.name})
        field = schema.field(name)
        ctx = CompileContext(column=name, family=type_family(field.type), arrow_type=field.type, keys=keys, udfs=udfs,
                             binding=binding)
        col = exp.column(name, quoted=True)
        exprs[name] = op.compile(col, ctx)
        checks.extend(op.preflight(col, name))
    return CompiledPolicy(columns=tuple(schema.names), column_exprs=exprs, operators=ops,
                          udfs=tuple(udfs.values()), checks=tuple(checks))


def compile_policy(policy: Policy, schema: pa.Schema, dialect: str = "duckdb", *,
                   findings: Mapping[str, str | None] | None = None) -> dict[str, exp.Expression]:
    """Column → rewrite expression for every column the policy changes (``TableAccess.column_exprs``).

    The engine must register the functions of :func:`udf_names` (see :func:`compile_plan`
    for the function objects bound to keys).
    """
    if dialect not in DIALECTS:
        raise InvalidInput(f"不支持的 SQL 方言：{dialect}", f"Unsupported SQL dialect {dialect!r}", code="bad_dialect")
    return compile_plan(policy, schema, findings=findings).column_exprs


def udf_names(exprs: Mapping[str, exp.Expression]) -> Sequence[str]:
    """Names of the platform functions the expressions call (e.g. ``SHUDATA_PSEUDONYM``)."""
    names = {a.name.upper() for e in exprs.values() for a in e.find_all(exp.Anonymous)}
    return sorted(n for n in names if n.startswith("SHUDATA_"))
