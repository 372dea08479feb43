"""Fixtures of the store's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from shudata.core.config import Settings
from shudata.db.session import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The platform's SQLite engine (its pragmas, its turn-taking writers) over a file holding one table
    ``t (a INTEGER)``."""
    eng = make_engine(Settings(env="test", data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/m.db"))
    with eng.begin() as c:
        c.execute(text("CREATE TABLE t (a INTEGER)"))
    yield eng
    eng.dispose()
