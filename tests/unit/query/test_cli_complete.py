"""Issue #11 item 1 for ``shudata query``: rows left out are said (stderr, every format), and
``--output`` exports the whole result, or says it was cut at ``query_max_rows`` (exit 10).

The query world's settings: ``page_size_max=20``, ``query_max_rows=50``."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner


@pytest.fixture
def cli(world, settings, monkeypatch):
    from shudata.cli.main import app

    monkeypatch.setenv("SHUDATA_ENV", "test")
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("SHUDATA_PAGE_SIZE_MAX", "20")
    monkeypatch.setenv("SHUDATA_QUERY_MAX_ROWS", "50")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["query", *args])


@pytest.mark.sqlite_only
def test_a_capped_limit_and_the_rows_left_out_are_said_in_every_format(cli):
    out = cli("SELECT * FROM range(30)", "-f", "csv", "--limit", "100")
    assert out.exit_code == 0, out.output
    assert len(out.stdout.splitlines()) == 21  # header + the 20 rows of a page; stdout stays data
    assert "每页最多 20 行" in out.stderr and "--offset 20" in out.stderr
    whole = cli("SELECT * FROM range(5)", "-f", "csv")
    assert whole.exit_code == 0 and len(whole.stdout.splitlines()) == 6 and whole.stderr == ""
    cut = cli("SELECT * FROM range(80)", "-f", "json", "--offset", "40")
    assert "已截断" in cut.stderr and "SHUDATA_QUERY_MAX_ROWS" in cut.stderr


@pytest.mark.sqlite_only
@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet"])
def test_output_exports_the_whole_result_or_says_it_was_cut(cli, tmp_path, suffix):
    dest = tmp_path / f"r.{suffix}"
    done = cli("SELECT * FROM range(45)", "--output", str(dest))
    assert done.exit_code == 0, done.output
    assert "已导出全部 45 行" in done.stderr
    if suffix == "parquet":
        assert pq.read_table(dest).num_rows == 45  # past page_size_max (20): every row
    cut = cli("SELECT * FROM range(80)", "-o", str(dest))
    assert cut.exit_code == 10 and "已截断" in cut.stderr and "50" in cut.stderr
    if suffix == "csv":
        assert len(dest.read_text(encoding="utf-8-sig").splitlines()) == 51
    bad = cli("SELECT 1", "-o", str(tmp_path / "r.txt"))
    assert bad.exit_code == 2 and ".csv" in bad.output
