"""What one caller may see of one table: visible columns, a row filter, column rewrites.

The privacy package (masking) and the sharing package (grants) produce :class:`TableAccess`
values; the sandbox applies them by replacing every reference to the table with a
subquery, so nothing in the outer query can get around them.

>>> from sqlglot import exp, parse_one
>>> acc = TableAccess(columns=("name", "city"), row_filter=parse_one("city = '成都'"),
...                   column_exprs={"name": parse_one("left(name, 1) || '**'")})
>>> print(access_subquery("t_raw", ("name", "city", "id_no"), acc).sql("duckdb"))
SELECT LEFT(name, 1) || '**' AS "name", "city" AS "city" FROM "t_raw" WHERE city = '成都'
>>> acc.visible(("name", "city", "id_no"))
('name', 'city')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from shudata.core.errors import InvalidInput


@dataclass(frozen=True)
class TableAccess:
    """The view of a table one query may use.

    Attributes:
        columns: the visible columns, in order; ``None`` means every stored column.
        row_filter: a boolean expression over the stored columns; rows where it is not
            true are invisible. ``None`` keeps every row.
        column_exprs: column name -> expression over the stored columns that replaces the
            column's value (masking, pseudonyms). The column keeps its name.
    """

    columns: tuple[str, ...] | None = None
    row_filter: exp.Expr | None = None
    column_exprs: Mapping[str, exp.Expr] = field(default_factory=dict)

    def visible(self, stored: Sequence[str]) -> tuple[str, ...]:
        """The visible columns given the stored ones; unknown names are an error."""
        if self.columns is None:
            return tuple(stored)
        missing = [c for c in self.columns if c not in stored]
        if missing:
            raise InvalidInput(f"访问规则引用了不存在的列：{'、'.join(missing)}",
                               f"Access rule names unknown columns: {', '.join(missing)}",
                               code="access_unknown_column")
        return tuple(self.columns)

    def restrict(self, other: TableAccess) -> TableAccess:
        """Both restrictions at once: columns in both, rows passing both filters,
        ``other``'s rewrites applied over this one's for the same column.

        >>> a = TableAccess(columns=("a", "b")).restrict(TableAccess(columns=("b", "c")))
        >>> a.columns
        ('b',)
        """
        if self.columns is None:
            columns = other.columns
        elif other.columns is None:
            columns = self.columns
        else:
            columns = tuple(c for c in self.columns if c in other.columns)
        filters = [f for f in (self.row_filter, other.row_filter) if f is not None]
        row_filter = exp.and_(*[f.copy() for f in filters]) if filters else None
        exprs = dict(self.column_exprs)
        for name, expr in other.column_exprs.items():
            exprs[name] = _substitute(expr, {name: exprs[name]}) if name in exprs else expr
        return TableAccess(columns=columns, row_filter=row_filter, column_exprs=exprs)


FULL_ACCESS = TableAccess()


@dataclass(frozen=True)
class ResolvedTable:
    """A table name of a query, resolved to what the engine holds for it.

    Attributes:
        source: the engine's name for the stored data (a view over one version's files);
            never shown to the caller and never reachable from its SQL.
        columns: every stored column, in order.
        access: what this caller may see of it.
        label: the name to use in messages (resource code or alias).
    """

    source: str
    columns: tuple[str, ...]
    access: TableAccess = FULL_ACCESS
    label: str = ""


def _substitute(expr: exp.Expr, mapping: Mapping[str, exp.Expr]) -> exp.Expr:
    """Replace unqualified column references by expressions (used to stack rewrites)."""

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name in mapping:
            return exp.paren(mapping[node.name].copy(), copy=False)
        return node

    return expr.copy().transform(swap)


def access_subquery(source: str, stored: Sequence[str], access: TableAccess) -> exp.Select:
    """``SELECT <visible columns, rewritten> FROM source WHERE <filter>``."""
    unknown = [c for c in access.column_exprs if c not in stored]
    if unknown:
        raise InvalidInput(f"访问规则改写了不存在的列：{'、'.join(unknown)}",
                           f"Access rule rewrites unknown columns: {', '.join(unknown)}",
                           code="access_unknown_column")
    for name, expr in [("row_filter", access.row_filter), *access.column_exprs.items()]:
        if expr is not None:
            check_references(expr, stored, name)
    projections: list[exp.Expr] = []
    for name in access.visible(stored):
        value = access.column_exprs.get(name)
        expr = value.copy() if value is not None else exp.column(exp.to_identifier(name, quoted=True))
        projections.append(exp.alias_(expr, exp.to_identifier(name, quoted=True)))
    if not projections:
        raise InvalidInput("访问规则不允许查看任何列", "The access rule leaves no visible column",
                           code="access_no_columns")
    select = exp.select(*projections).from_(exp.Table(this=exp.to_identifier(source, quoted=True)))
    if access.row_filter is not None:
        select = select.where(access.row_filter.copy())
    return select


def check_references(expr: exp.Expr, stored: Sequence[str], where: str) -> None:
    """Refuse an access expression that names a column the table does not have.

    Inside the access subquery an unknown name could otherwise bind to a column of the
    caller's outer query (a correlated reference) instead of failing.

    >>> from sqlglot import parse_one
    >>> check_references(parse_one("list_transform(tags, x -> upper(x))"), ("tags",), "tags")
    >>> check_references(parse_one("region = '510100'"), ("city",), "row_filter")
    Traceback (most recent call last):
    ...
    shudata.core.errors.InvalidInput: 访问规则（row_filter）引用了不存在的列：region
    """
    params = {p.name for lam in expr.find_all(exp.Lambda) for p in lam.expressions}
    known = set(stored) | params
    unknown = sorted({c.name for c in expr.find_all(exp.Column) if c.table or c.name not in known})
    if unknown:
        raise InvalidInput(f"访问规则（{where}）引用了不存在的列：{'、'.join(unknown)}",
                           f"Access rule ({where}) names unknown columns: {', '.join(unknown)}",
                           code="access_unknown_column")
