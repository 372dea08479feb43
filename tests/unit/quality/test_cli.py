"""``shudata profile | check | clean`` with ``--json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from tests.unit.quality.conftest import DATA, World
from typer.testing import CliRunner

from shudata.cli.main import app

runner = CliRunner()

MESSY_CSV = """姓名,身份证号,手机,邮编,登记日期
张三,11010519491231002X,13800138000,610041,2020-01-02
李四,110105194912310021,1380013800,610041,2020-13-01
王五,无,138 0013 8000,61004,N/A
赵六,51010419900101001x,-,610000,2021-05-06
"""


def test_profile_json_finds_kinds_and_invalid_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "people.csv"
    path.write_bytes(MESSY_CSV.encode("gb18030"))
    res = runner.invoke(app, ["profile", str(path), "--json"])
    assert res.exit_code == 0, res.output
    cols = {c["column"]: c for c in json.loads(res.stdout)}
    assert cols["身份证号"]["kind"] == "cn_id" and cols["身份证号"]["nulls"] == 1
    assert cols["身份证号"]["invalid"] == 2  # wrong check digit; wrong check digit (lower-case x is fine)
    assert cols["手机"]["kind"] == "mobile" and cols["手机"]["nulls"] == 1 and cols["手机"]["invalid"] == 1
    assert cols["登记日期"]["kind"] == "date" and cols["登记日期"]["invalid"] == 1
    assert cols["姓名"]["distinct"] == 4 and cols["姓名"]["kind"] is None


def test_profile_placeholders_are_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "people.csv"
    path.write_text(MESSY_CSV, encoding="utf-8")
    res = runner.invoke(app, ["profile", str(path), "--json", "--missing", "N/A"])
    cols = {c["column"]: c for c in json.loads(res.stdout)}
    assert cols["身份证号"]["nulls"] == 0 and cols["手机"]["nulls"] == 0


def test_profile_reads_real_xls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path / "data"))
    res = runner.invoke(app, ["profile", str(DATA / "moe_higher_education_institutions_2017.xls"), "--json"])
    assert res.exit_code == 0, res.output
    cols = {c["column"]: c for c in json.loads(res.stdout)}
    assert cols["备注"]["nulls"] == 1885 and cols["备注"]["distinct"] == 3
    assert cols["办学层次"]["distinct"] == 2


@pytest.mark.sqlite_only
def test_check_and_clean_json(world: World, add_resource: Callable[..., str],
                              add_version: Callable[[str, pa.Table], int], scenic: pa.Table, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    code = add_resource(world.dept, "景区", list(scenic.column_names), alias="scenic")
    add_version(code, scenic)
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(world.rt.settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", world.rt.settings.resolved_database_url)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {type: not_null, column: 所在区县, severity: block}\n", encoding="utf-8")
    assert runner.invoke(app, ["quality", "rules", "scenic", str(rules)]).exit_code == 0
    res = runner.invoke(app, ["check", "scenic", "--json"])
    assert res.exit_code == 1  # a blocking rule fails
    run = json.loads(res.stdout)
    assert run["results"][0]["failed"] == 2
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: 去重\nsteps:\n  - {step: dedupe, columns: [名称]}\n", encoding="utf-8")
    res = runner.invoke(app, ["clean", "scenic", "--pipeline", str(pipe), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["target_version"] == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {type: not_null, column: 电话}\n", encoding="utf-8")
    res = runner.invoke(app, ["quality", "rules", "scenic", str(bad)])
    assert res.exit_code == 2 and "不存在的列" in res.output
