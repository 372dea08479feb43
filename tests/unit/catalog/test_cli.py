"""``shudata catalog``: add from a template, export, import (all-or-nothing), search; exit codes."""

from __future__ import annotations

import pytest
from tests.conftest import TEST_USCC
from typer.testing import CliRunner

from shudata.cli.catalog_cmd import catalog_app
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.delenv("SHUDATA_DATABASE_URL", raising=False)
    rt = Runtime.build(Settings())
    rt.migrate()
    with rt.transaction() as s:
        create_department(session=s, actor=Actor.system(), data=DepartmentCreate(
            name="四川省公安厅", uscc=TEST_USCC[0], region_code="510000"))
    rt.close()
    runner = CliRunner()
    return lambda *args: runner.invoke(catalog_app, list(args))


def test_add_export_import_search(cli, tmp_path):
    r = cli("add", "--template", "人口", "--dept", "四川省公安厅", "--name", "四川省人口基础信息")
    assert r.exit_code == 0, r.output
    assert "101001/000001" in r.output
    out = tmp_path / "目录.xlsx"
    assert cli("export", str(out)).exit_code == 0 and out.stat().st_size > 0
    r = cli("import", str(out))
    assert r.exit_code == 0 and "未变 1 条" in r.output
    r = cli("search", "人口基础")
    assert r.exit_code == 0 and "101001/000001" in r.output


def test_bad_import_exits_non_zero_and_lists_rows(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("资源名称,提供方,摘要,共享类型,更新周期\n四川省某信息,四川省公安厅,摘要,3 不予共享,每月\n",
                   encoding="gbk")
    r = cli("import", str(bad))
    assert r.exit_code == 2
    assert "共享条件" in r.output and "未导入任何条目" in r.output


def test_unknown_template_exits_not_found(cli):
    assert cli("add", "--template", "气象", "--dept", "四川省公安厅").exit_code == 4
