"""``shudata ingest``: the same pipeline from the console, with exit codes for refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shudata.cli.main import app
from shudata.db.runtime import Runtime
from shudata.lake.models import LakeVersion


@pytest.fixture
def cli_env(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(rt.settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", rt.settings.resolved_database_url)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("file", "resource", "extra", "exit_code", "versions"), [
    ("gdp_100m_yuan.csv", "gdp", [], 0, 1),  # GBK NBS export: guessed header and footer
    ("gdp_100m_yuan.csv", "gdp", ["--header-row", "2"], 2, 0),  # wrong header row: columns refused
    ("gdp_100m_yuan.csv", "nonexistent", [], 4, 0),  # no such entry
    ("gdp_100m_yuan.csv", "gdp", ["--dry-run"], 0, 0),  # preview only
])
def test_ingest_command(cli_env: None, rt: Runtime, world: Any, real: Path, file: str, resource: str,
                        extra: list[str], exit_code: int, versions: int) -> None:
    code = getattr(world, resource, "999999/000001")
    result = CliRunner().invoke(app, ["ingest", str(real / file), "--resource", code, *extra])
    assert result.exit_code == exit_code, result.output
    with rt.transaction() as s:
        assert len(s.scalars(select(LakeVersion)).all()) == versions
    if exit_code == 0 and not extra:
        assert "第 1 版" in result.output and "31 行" in result.output
