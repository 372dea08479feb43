"""Step 5: cap the number of rows.

A literal ``LIMIT n`` at or under the cap is kept; a missing one becomes ``LIMIT cap``;
anything else (larger, computed, percent, FETCH) is wrapped in
``SELECT * FROM (<query>) LIMIT cap``.

>>> from sqlglot import parse_one
>>> from shudata.query.context import SandboxContext, mapping_resolver
>>> ctx = SandboxContext(mapping_resolver({}), max_rows=100)
>>> enforce_limit(parse_one("SELECT 1 LIMIT 5"), ctx).sql()
'SELECT 1 LIMIT 5'
>>> enforce_limit(parse_one("SELECT 1"), ctx).sql()
'SELECT 1 LIMIT 100'
>>> enforce_limit(parse_one("SELECT 1 LIMIT 500"), ctx).sql()
'SELECT * FROM (SELECT 1 LIMIT 500) AS _capped LIMIT 100'
"""

from __future__ import annotations

from sqlglot import exp

from shudata.query.context import SandboxContext


def literal_limit(tree: exp.Expr) -> int | None:
    """The integer of a plain ``LIMIT n`` clause, else ``None``."""
    limit = tree.args.get("limit")
    if not isinstance(limit, exp.Limit) or limit.args.get("percent") or limit.args.get("rows"):
        return None
    value = limit.expression
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def enforce_limit(tree: exp.Expr, ctx: SandboxContext) -> exp.Expr:
    """Make ``tree`` return at most ``ctx.max_rows`` rows."""
    cap = ctx.max_rows
    if cap is None:
        return tree
    if isinstance(tree, exp.Select | exp.SetOperation):
        existing = literal_limit(tree)
        if existing is not None and existing <= cap:
            return tree
        if tree.args.get("limit") is None:
            tree.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
            return tree
    return exp.select("*").from_(exp.Subquery(this=tree, alias=exp.TableAlias(
        this=exp.to_identifier("_capped")))).limit(cap)
