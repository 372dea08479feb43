"""``shudata portal publish | withdraw | publications``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shudata.cli.main import app
from shudata.portal import service as P
from shudata.privacy.schemas import PolicySave
from shudata.privacy.service import save_policy
from support.portal import CODES

runner = CliRunner()


@pytest.fixture
def env(settings, monkeypatch):
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)


def test_publish_list_withdraw(rt, env, portal_world):
    res = runner.invoke(app, ["portal", "publish", CODES["people"]])
    assert res.exit_code == 0, res.output
    assert "已发布" in res.output and "姓名: partial_mask" in res.output
    with rt.transaction() as s:
        assert P.get_dataset(s, CODES["people"]).publication.rows == 10
    res = runner.invoke(app, ["portal", "withdraw", CODES["people"], "--reason", "核对中"])
    assert res.exit_code == 0 and "已撤回" in res.output
    res = runner.invoke(app, ["portal", "publications", CODES["people"]])
    assert res.exit_code == 0 and "withdrawn" in res.output


def test_refused_publication_exits_non_zero_with_findings(rt, settings, env, portal_world):
    with rt.transaction() as s:
        save_policy(session=s, actor=portal_world.steward, settings=settings, data=PolicySave(
            policy={"name": "301001-000005-open", "profile": "open", "columns": {"编号": {"op": "keep"}}}))
    res = runner.invoke(app, ["portal", "publish", CODES["planted"]])
    assert res.exit_code == 2, res.output
    assert "开放闸门拒绝" in res.output and "编号" in res.output
    res = runner.invoke(app, ["portal", "publications", CODES["planted"], "--json"])
    rows = json.loads(res.stdout)
    assert rows[0]["status"] == "refused"
    assert "CN_RESIDENT_ID" in {v["entity"] for v in rows[0]["gate"]["violations"]}
    res = runner.invoke(app, ["portal", "publish", CODES["closed"]])
    assert res.exit_code == 6  # 409: 不予开放
