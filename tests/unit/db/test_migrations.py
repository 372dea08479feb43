"""Alembic migrations: from empty to head they build exactly the models' schema, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from shudata.db.base import Base
from shudata.db.migrate import downgrade, upgrade
from shudata.db.registry import load_all_models


def test_migrated_schema_matches_the_models(db_url):
    load_all_models()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ — run scripts/regen_migration.sh: {diff[:5]}"


def test_downgrade_to_base_and_upgrade_again(db_url):
    engine = create_engine(db_url)
    downgrade(engine, "base")
    assert [t for t in inspect(engine).get_table_names() if t != "alembic_version"] == []
    upgrade(engine)
    assert "catalog_resource" in inspect(engine).get_table_names()
    engine.dispose()
