"""Rows for a store at an older schema revision, written by reflection (the migration tests).

A migration test upgrades a store holding data: it reflects the old schema and inserts rows
through it. :func:`old_row` fills every required column the test does not care about, so the
test names only the values it checks, whatever else that revision's table holds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def filler(col: sa.Column[Any]) -> Any:
    """A value of ``col``'s type (no meaning: only for columns the test does not read)."""
    t = col.type
    if isinstance(t, sa.Boolean):
        return False
    if isinstance(t, sa.Integer | sa.Float | sa.Numeric):
        return 1
    if isinstance(t, sa.JSON):
        return {}
    if isinstance(t, sa.DateTime):
        return NOW
    if isinstance(t, sa.LargeBinary):
        return b""
    return "x"


def old_row(table: sa.Table, **given: Any) -> dict[str, Any]:
    """``given`` plus a value for every other required column of ``table`` (as reflected)."""
    out = dict(given)
    for col in table.columns:
        if col.name in out or col.nullable or col.primary_key or col.server_default is not None:
            continue
        out[col.name] = filler(col)
    return out
