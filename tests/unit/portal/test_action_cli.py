"""``shudata portal action NAME key=value …``: the CKAN actions from the console, with the
same checks as the Action API."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shudata.cli.main import app
from shudata.cli.portal_action_cmd import parse_pairs
from shudata.core.errors import InvalidInput
from shudata.portal import developers as D
from shudata.portal import service as P
from shudata.portal.schemas import ApplicationCreate, ApplicationDecide, DeveloperCreate
from support.portal import CODES

runner = CliRunner()
OPEN, COND = CODES["open"].replace("/", "-"), CODES["cond"].replace("/", "-")


@pytest.fixture
def env(settings, monkeypatch):
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)


@pytest.fixture
def published(rt, settings, env, portal_world):
    with rt.transaction() as s:
        for key in ("open", "cond"):
            P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES[key])
    return portal_world


def test_pairs_are_text_or_json():
    assert parse_pairs(["q=人口", "rows:5", 'filters:{"地区":"成都市"}', "fq=tags:人口"]) == {
        "q": "人口", "rows": 5, "filters": {"地区": "成都市"}, "fq": "tags:人口"}
    for bad in ("rows", "=5", "filters:{bad"):
        with pytest.raises(InvalidInput):
            parse_pairs([bad])


def test_lists_actions_without_a_name(env):
    res = runner.invoke(app, ["portal", "action"])
    assert res.exit_code == 0 and "package_search" in res.stdout.split()


def test_calls_the_same_actions_and_prints_json(published):
    res = runner.invoke(app, ["portal", "action", "package_list"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == sorted([OPEN, COND])
    res = runner.invoke(app, ["portal", "action", "datastore_search", f"resource_id={OPEN}-csv", "limit=2",
                              'filters:{"地区": "成都市"}', "--base-url", "https://data.example.cn/"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["total"] == 1 and out["records"][0]["地区"] == "成都市"
    res = runner.invoke(app, ["portal", "action", "package_show", f"id={OPEN}", "--base-url", "https://data.example.cn"])
    assert json.loads(res.stdout)["resources"][0]["url"].startswith("https://data.example.cn/")


def test_refusals_exit_non_zero(rt, published):
    res = runner.invoke(app, ["portal", "action", "datastore_search", f"resource_id={COND}-csv"])
    assert res.exit_code == 3 and "有条件开放" in res.output  # 403: no key
    res = runner.invoke(app, ["portal", "action", "package_show", "id=no-such-dataset"])
    assert res.exit_code == 4  # 404
    res = runner.invoke(app, ["portal", "action", "package_create", "name=x"])
    assert res.exit_code == 4  # read-only: no such action
    res = runner.invoke(app, ["portal", "action", "package_search", "rows=many"])
    assert res.exit_code == 2  # 422: rows is not an integer
    with rt.transaction() as s:
        dev = D.register(session=s, data=DeveloperCreate(email="cli@example.com", phone="13812345678", name="开发者",
                                                         password="Dev-Passw0rd!2024"))
        key = D.create_key(session=s, dev=dev, name="cli")
        app_ = D.apply(session=s, dev=dev, data=ApplicationCreate(dataset=COND, purpose="研究企业分布",
                                                                  accept_agreement=True))
    with rt.transaction() as s:
        D.decide_application(session=s, actor=published.steward, application_id=app_.id,
                             data=ApplicationDecide(approve=True))
    res = runner.invoke(app, ["portal", "action", "datastore_search", f"resource_id={COND}-csv", "--apikey", key.key])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["total"] == 10
