"""An unreachable metadata database (issue #14, item 13): every command says in one line what
failed, where (without the password) and what to check, and exits non-zero — no traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shudata.cli.context import EXIT_STORE_UNAVAILABLE
from shudata.cli.main import app
from shudata.core.config import Settings
from shudata.db.runtime import Runtime
from shudata.db.session import StoreUnavailable

BOGUS = "postgresql+psycopg://shudata:S3cret-pw@127.0.0.1:1/shudata"


@pytest.mark.parametrize("args", [["init"], ["serve", "--port", "9"], ["query", "SELECT 1"], ["audit", "verify"],
                                  ["catalog", "search", "人口"], ["token", "create", "admin"], ["demo", "--load-only"]])
def test_each_command_says_in_one_line_that_the_database_is_unreachable(
        args: list[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUDATA_DATABASE_URL", BOGUS)
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == EXIT_STORE_UNAVAILABLE, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    out = result.output.strip()
    assert "Traceback" not in out
    assert len(out.splitlines()) == 1, out
    assert "无法连接元数据库" in out and "Cannot reach the metadata database" in out
    assert "127.0.0.1:1" in out and "SHUDATA_DATABASE_URL" in out
    assert "S3cret-pw" not in out and "***" in out


def test_an_unparseable_url_is_named_as_such(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUDATA_DATABASE_URL", "nosuchdriver+x://u:pw@h/db")
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == EXIT_STORE_UNAVAILABLE
    assert "元数据库地址无效" in result.output and "pw@" not in result.output


def test_migrate_raises_store_unavailable_before_any_migration(tmp_path: object) -> None:
    rt = Runtime.build(Settings(env="test", data_dir=tmp_path, database_url=BOGUS))  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable) as info:
        rt.migrate()
    assert info.value.url == "postgresql+psycopg://shudata:***@127.0.0.1:1/shudata"
    assert "Connection refused" in info.value.reason or "connect" in info.value.reason.lower()
