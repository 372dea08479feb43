"""``run_query`` with access overrides (what privacy and sharing will pass), and the CLI."""

from __future__ import annotations

import json

import pytest
from sqlglot import parse_one
from typer.testing import CliRunner

from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.query.access import TableAccess
from shudata.query.service import run_query

MASK = TableAccess(columns=("姓名", "城市"), row_filter=parse_one("\"年龄\" >= 35", read="duckdb"),
                   column_exprs={"姓名": parse_one("left(\"姓名\", 1) || '*'", read="duckdb")})


@pytest.mark.sqlite_only
def test_access_overrides_mask_filter_and_hide(rt, world):
    with rt.transaction() as s:
        result = run_query(session=s, settings=rt.settings, actor=world.a_user,
                           sql='SELECT * FROM people ORDER BY "姓名"', access_overrides={"101001/000001": MASK})
        assert [c.name for c in result.columns] == ["姓名", "城市"]
        assert result.rows == [["张*", "成都"], ["李*", "绵阳"], ["王*", "成都"]]  # 赵六 (24) filtered out
        with pytest.raises(InvalidInput) as info:
            run_query(session=s, settings=rt.settings, actor=world.a_user, sql='SELECT "年龄" FROM people',
                      access_overrides={"people": MASK})
        assert "年龄" in info.value.zh and "t_" not in info.value.zh  # engine names never leak


@pytest.mark.sqlite_only
def test_registered_providers_apply_to_every_query_and_overrides_narrow_them(rt, world):
    from shudata.core.plugins import hookimpl

    class Adults:
        @hookimpl
        def query_table_access(self, session, settings, actor, resource):
            return TableAccess(row_filter=parse_one('"年龄" >= 30'))

    rt.plugins.register(Adults())  # this test's runtime: every query of its sessions
    with rt.transaction() as s:
        def ask(**kw):
            return run_query(session=s, settings=rt.settings, actor=world.a_user,
                             sql='SELECT "姓名" FROM people ORDER BY "年龄"', **kw).rows

        assert ask() == [["张三"], ["李四"], ["王五"]]
        assert ask(access_overrides={"people": TableAccess(row_filter=parse_one('"城市" = \'成都\''))}) == [
            ["张三"], ["王五"]]


@pytest.mark.sqlite_only
def test_where_on_a_masked_column_sees_only_the_masked_value(rt, world):
    with rt.transaction() as s:
        result = run_query(session=s, settings=rt.settings, actor=world.a_user,
                           sql="SELECT count(*) FROM people WHERE \"姓名\" = '张三'", access_overrides={"people": MASK})
    assert result.rows == [[0]]


@pytest.mark.parametrize(("user", "sql", "error"), [
    ("b_user", "SELECT * FROM people", PermissionDenied),  # another department's resource
    ("a_user", "SELECT * FROM nobody_knows", NotFound),  # unknown name
    ("a_user", "SELECT * FROM not_uploaded", NotFound),  # registered but no data version yet
])
def test_service_refusals(rt, world, user, sql, error):
    actor = world.b_user if user == "b_user" else world.a_user
    with rt.transaction() as s, pytest.raises(error) as info:
        run_query(session=s, settings=rt.settings, actor=actor, sql=sql)
    assert isinstance(info.value.details, dict) and info.value.details["action"] in ("query.run", "lake.version.read")


@pytest.mark.sqlite_only
def test_cli_query_prints_table_json_and_csv_and_checks_the_user(rt, world, settings, monkeypatch):
    from shudata.cli.main import app

    monkeypatch.setenv("SHUDATA_ENV", "test")
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    sql = 'SELECT "城市", count(*) AS n FROM "四川省人口基础信息" GROUP BY 1 ORDER BY 1'
    table = runner.invoke(app, ["query", sql])
    assert table.exit_code == 0, table.output
    assert "成都" in table.output and "101001/000001 四川省人口基础信息 v2" in table.output
    as_json = runner.invoke(app, ["query", sql, "--format", "json", "--user", "a_user"])
    assert json.loads(as_json.stdout)["rows"] == [["德阳", 1], ["成都", 2], ["绵阳", 1]]
    as_csv = runner.invoke(app, ["query", sql, "-f", "csv", "--version", "people=1"])
    assert as_csv.stdout.splitlines() == ["城市,n", "成都,2", "绵阳,1"]
    denied = runner.invoke(app, ["query", "SELECT * FROM police_cases", "--user", "a_user"])
    assert denied.exit_code == 3 and "无权" in denied.output
    bad = runner.invoke(app, ["query", "DROP TABLE people"])
    assert bad.exit_code == 2 and "只允许只读查询" in bad.output
