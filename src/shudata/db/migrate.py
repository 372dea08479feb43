"""Run Alembic migrations programmatically (``shudata init`` and test fixtures)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(engine: Engine) -> Config:
    script_dir = str(resources.files("shudata.db").joinpath("migrations"))
    cfg = Config()
    cfg.set_main_option("script_location", script_dir)
    cfg.set_main_option("file_template", "%%(rev)s")
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the metadata store to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)
