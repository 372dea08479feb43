"""What the sandbox steps need besides the tree: how to resolve table names, the row cap
and the target dialect."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shudata.query.access import ResolvedTable
from shudata.query.errors import table_not_found

Resolver = Callable[[str], ResolvedTable]


@dataclass(frozen=True)
class SandboxContext:
    """Inputs of one sandbox run.

    Attributes:
        resolve: table name as written in the SQL -> :class:`ResolvedTable`; raises
            ``NotFound`` (unknown name) or ``PermissionDenied`` (not readable).
        max_rows: the row cap the query is limited to (``None``: no cap).
        dialect: the sqlglot dialect of the engine that will run the result.
    """

    resolve: Resolver
    max_rows: int | None = None
    dialect: str = "duckdb"


def mapping_resolver(tables: Mapping[str, ResolvedTable]) -> Resolver:
    """A resolver over a fixed mapping; names match case-insensitively, like DuckDB's.

    >>> r = mapping_resolver({"Orders": ResolvedTable("src_1", ("id",))})
    >>> r("orders").source
    'src_1'
    """
    folded = {k.casefold(): v for k, v in tables.items()}

    def resolve(name: str) -> ResolvedTable:
        try:
            return folded[name.casefold()]
        except KeyError:
            raise table_not_found(name) from None

    return resolve
