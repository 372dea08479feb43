"""A store at an older schema revision, holding data, upgraded (the migration tests).

A migration test upgrades a store holding data: it builds the old schema, inserts rows through
its reflection, upgrades, writes and reads what the new revision adds, and downgrades. This
module holds all but the middle part, so a test names only what its revision changes:

    STEP = Step("0005_market", "0006_market_delivery", has="market_order", adds={...})
    with STEP.upgraded(db_url, [department(), resource(), *market_order("delivering", "offline")]) as engine:
        ...  # write and read the new tables
        STEP.downgrade(engine, keeps={"market_order"})

:func:`old_row` fills every required column the test does not care about, so a row names only
the values the test checks, whatever else that revision's table holds; :func:`department`,
:func:`user`, :func:`resource` … are the rows the demo leaves in a store, each value overridable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import MetaData, create_engine, inspect

from shudata.db.migrate import downgrade, upgrade

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)

Row = tuple[str, dict[str, Any]]  # (table name, values)


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


# -- the rows a store holds -------------------------------------------------------------------------

def items(*names: str) -> list[dict[str, Any]]:
    """Catalog information items (character columns) named ``names``."""
    return [{"name": n, "data_type": "C", "length": 50, "description": None} for n in names]


def department(**values: Any) -> Row:
    return "security_department", {"id": 1, "name": "四川省统计局", "created_at": NOW} | values


def user(uid: int, username: str, **values: Any) -> Row:
    """An active account of department 1 (``department_id=None`` for none)."""
    return "security_user", {"id": uid, "username": username, "display_name": username, "department_id": 1,
                             "roles": ["dept_user"], "is_active": True, "created_at": NOW} | values


def resource(**values: Any) -> Row:
    """Catalog entry 1 of department 1: the regional GDP table."""
    return "catalog_resource", {
        "id": 1, "code": "201001/000001", "alias": "gdp", "name": "四川省各市州主要经济指标",
        "provider_department_id": 1, "information_items": items("地区", "地区生产总值"), "sharing_type": 1,
        "is_deleted": False, "created_at": NOW, "updated_at": NOW} | values


def lake_version(**values: Any) -> Row:
    """Version 1 of entry 1."""
    return "lake_version", {
        "id": 1, "resource_id": 1, "version": 1, "rows": 21,
        "columns": [{"name": "地区", "type": "string"}, {"name": "地区生产总值", "type": "double"}],
        "source_name": "gdp.csv", "source_format": "csv", "storage_path": "201001-000001/v1",
        "created_by": "tj_steward", "created_at": NOW} | values


def saved_query(**values: Any) -> Row:
    """User 1's private saved query."""
    return "query_saved", {"id": 1, "owner": "tj_steward", "owner_user_id": 1, "name": "GDP", "sql": "SELECT 1",
                           "visibility": "private", "created_at": NOW, "updated_at": NOW} | values


def market_order(status: str, delivery_mode: str, *, source: bool = False) -> list[Row]:
    """Seller 1 and buyer 2 (approved participants), product 1 (listed; over entry 1 when ``source``)
    with price plan 1, and order 1 in ``status``."""
    rows: list[Row] = [("market_participant", {
        "id": pid, "name": name, "uscc": f"9151010000000000{pid}X", "status": "approved", "created_at": NOW,
        "updated_at": NOW}) for pid, name in ((1, "卖方"), (2, "买方"))]
    rows.append(("market_product", {"id": 1, "code": "P-1", "name": "企业经营信息", "seller_id": 1,
                                    "status": "listed", "created_at": NOW, "updated_at": NOW}))
    if source:
        rows.append(("market_product_source", {"id": 1, "product_id": 1, "resource_id": 1, "version": 1}))
    rows.append(("market_price_plan", {"id": 1, "product_id": 1, "price_fen": 100, "created_at": NOW}))
    rows.append(("market_order", {"id": 1, "code": "O-1", "product_id": 1, "plan_id": 1, "buyer_id": 2,
                                  "seller_id": 1, "status": status, "price_fen": 100,
                                  "delivery_mode": delivery_mode, "created_at": NOW, "updated_at": NOW}))
    return rows


# -- one migration step -----------------------------------------------------------------------------

def table_names(engine: sa.Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


@dataclass(frozen=True)
class Step:
    """The migration from ``old`` to ``new`` ("head": the newest), which adds the tables ``adds``;
    ``has`` is a table that ``old`` already has (with ``adds`` missing: the store really is at ``old``)."""

    old: str
    new: str
    has: str = field(kw_only=True)
    adds: Collection[str] = field(kw_only=True)

    def seed(self, engine: sa.Engine, rows: Iterable[Row]) -> None:
        """Write ``rows`` into the store at ``old``, through its reflected schema."""
        meta = MetaData()
        meta.reflect(engine)
        assert self.has in meta.tables and not set(self.adds) & set(meta.tables), f"not a {self.old} store"
        with engine.begin() as conn:
            for name, values in rows:
                table = meta.tables[name]
                conn.execute(table.insert().values(old_row(table, **values)))

    @contextmanager
    def upgraded(self, db_url: str, rows: Iterable[Row]) -> Iterator[sa.Engine]:
        """A store built to ``old``, holding ``rows``, upgraded to ``new`` (whose tables are checked);
        upgraded to the newest revision again when the block ends."""
        engine = create_engine(db_url)
        try:
            downgrade(engine, "base")
            upgrade(engine, self.old)
            self.seed(engine, rows)
            upgrade(engine, self.new)
            assert table_names(engine) >= set(self.adds)
            yield engine
            upgrade(engine)
        finally:
            engine.dispose()

    def downgrade(self, engine: sa.Engine, *, keeps: Iterable[str]) -> None:
        """Back to ``old``: the added tables are gone, the tables ``keeps`` stay."""
        downgrade(engine, self.old)
        names = table_names(engine)
        assert not set(self.adds) & names and set(keeps) <= names
