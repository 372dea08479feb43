"""Indicators published beyond their owner department pass the release rules of data usable but not visible
(shudata.query.release): the population base registry (101001/000001, the demo's fixed-seed fictitious persons,
read raw by its owner 省公安厅) cannot be published person by person as an ``open`` or ``share-conditional``
indicator, only as aggregates of at least k rows per region and period; ``internal`` stays the owner's own
business; a formula is no wider than its unchecked inputs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from shudata.analysis import service, store
from shudata.analysis.models import AnalysisIndicator
from shudata.analysis.schemas import IndicatorWrite
from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.core.types import Actor, Role
from shudata.demo import loader
from shudata.demo.entries import BASE_ENTRIES, ECONOMY_ENTRIES

SYSTEM = Actor.system()
PEOPLE = "101001/000001"
GDP = "201001/000001"
ONE = "513221200706126433"  # one fictitious person of the seeded registry
# the attack of the brief: one person's birth year published as a regional value
ATTACK = (f"SELECT '510100' AS region_code, '2024' AS period, CAST(SUBSTR(\"公民身份号码\", 7, 4) AS DOUBLE) AS value "
          f"FROM \"{PEOPLE}\" WHERE \"公民身份号码\" = '{ONE}'")
ONE_AGGREGATE = (f"SELECT '510100' AS region_code, '2024' AS period, "
                 f"SUM(CAST(SUBSTR(\"公民身份号码\", 7, 4) AS DOUBLE)) AS value FROM \"{PEOPLE}\" "
                 f"WHERE \"公民身份号码\" = '{ONE}'")
PER_CITY = (f"SELECT SUBSTR(\"行政区划代码\", 1, 4) || '00' AS region_code, '2024' AS period, COUNT(*) AS value "
            f"FROM \"{PEOPLE}\" GROUP BY 1")
UNPIVOT = (f'SELECT "地区" AS region, period, value FROM (UNPIVOT "{GDP}" ON COLUMNS(* EXCLUDE ("地区")) '
           "INTO NAME period VALUE value)")


@pytest.fixture
def gat(rt, make_department, make_user):
    dept = make_department("省公安厅")
    tjj = make_department("省统计局")
    steward = make_user("gat_steward", Role.DATA_STEWARD, department_id=dept)
    with rt.transaction() as s:
        for e in (BASE_ENTRIES[0], next(e for e in ECONOMY_ENTRIES if e.code == GDP)):
            loader.ensure_entry(s, e)
        service.declare_layout(s, SYSTEM, GDP, {"kind": "nbs"})
    for e in (BASE_ENTRIES[0], next(e for e in ECONOMY_ENTRIES if e.code == GDP)):
        loader.ensure_data(rt, e)
    return {"dept": dept, "tjj": tjj, "steward": steward,
            "tjj_steward": make_user("tjj_steward", Role.DATA_STEWARD, department_id=tjj)}


def _write(code, sql_or_def, publication, dept, unit="人"):
    definition = {"kind": "sql", "sql": sql_or_def} if isinstance(sql_or_def, str) else sql_or_def
    return IndicatorWrite.model_validate({"code": code, "name": code, "unit": unit, "frequency": "年",
                                          "region_level": "市州", "definition": definition,
                                          "publication": publication, "owner_department_id": dept})


def _define(rt, actor, code, sql_or_def, publication, dept):
    with rt.transaction() as s:
        return service.create_indicator(s, actor, _write(code, sql_or_def, publication, dept))


def _recompute(rt, code):
    with rt.transaction() as s:
        return service.run_recompute(s, rt.settings, SYSTEM, code)


def _values(rt, code):
    with rt.transaction() as s:
        return service.values(s, SYSTEM, code).total


@pytest.mark.parametrize("publication", ["open", "share-conditional"])
def test_one_persons_value_is_refused_when_published_beyond_the_owner(rt, gat, publication):
    with pytest.raises(store.IndicatorReleaseRefused) as err, rt.transaction() as s:
        service.create_indicator(s, gat["steward"], _write("LEAK", ATTACK, publication, gat["dept"]))
    assert err.value.status == 422 and err.value.code == "analysis_release_refused"
    assert err.value.details["rule"] == "aggregates_only" and "聚合" in err.value.zh and "internal" in err.value.en
    with rt.transaction() as s:
        assert s.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == "LEAK")) is None
    for sql, rule in ((f"SELECT '510100' AS region_code, \"姓名\" AS site, '2024' AS period, COUNT(*) AS value "
                       f'FROM "{PEOPLE}" GROUP BY 2',
                       "group_keys"),
                      (f"SELECT '510100' AS region_code, '2024' AS period, MAX(\"出生日期\") AS value "
                       f'FROM "{PEOPLE}"', "revealing_aggregate"),
                      (f"SELECT '510100' AS region_code, '2024' AS period, COUNT(*) AS value FROM \"{PEOPLE}\" "
                       'GROUP BY "姓名"', "group_keys")):
        with pytest.raises(store.IndicatorReleaseRefused) as err, rt.transaction() as s:
            service.create_indicator(s, gat["steward"], _write("LEAK", sql, publication, gat["dept"]))
        assert err.value.details["rule"] == rule


def test_internal_is_the_owners_own_business_and_widening_it_runs_the_check(rt, gat):
    _define(rt, gat["steward"], "MINE", ATTACK, "internal", gat["dept"])
    run = _recompute(rt, "MINE")
    assert run.errors == [] and _values(rt, "MINE") == 1  # the owner reads its own data raw
    with pytest.raises(store.IndicatorReleaseRefused), rt.transaction() as s:
        service.update_indicator(s, gat["steward"], "MINE", _write("MINE", ATTACK, "open", gat["dept"]))
    with rt.transaction() as s:
        assert service.show_indicator(s, SYSTEM, "MINE").publication == "internal"


def test_an_aggregate_of_one_person_is_refused_when_computed_and_nothing_is_written(rt, gat):
    _define(rt, gat["steward"], "ONE", ONE_AGGREGATE, "open", gat["dept"])  # an aggregate: passes the analysis
    run = _recompute(rt, "ONE")
    assert [e["code"] for e in run.errors] == ["analysis_release_refused"]
    assert "最小分组规模 5" in run.errors[0]["error"]
    assert _values(rt, "ONE") == 0
    with rt.transaction() as s:
        assert "最小分组规模" in s.scalar(select(AnalysisIndicator.compute_error)
                                     .where(AnalysisIndicator.code == "ONE"))
        audited = s.scalars(select(AuditEntry).where(AuditEntry.action == "analysis.indicator.recompute")
                            .order_by(AuditEntry.id.desc())).first()
        assert audited is not None and json.loads(audited.details)["errors"][0]["code"] == "analysis_release_refused"


def test_a_regional_aggregate_is_published(rt, gat):
    _define(rt, gat["steward"], "PEOPLE.CITY", PER_CITY, "open", gat["dept"])
    run = _recompute(rt, "PEOPLE.CITY")
    assert run.errors == []
    with rt.transaction() as s:
        page = service.values(s, Actor.anonymous(), "PEOPLE.CITY", limit=100)
        assert page.total == 21 and sum(v.value for v in page.items) == 5000
        assert all(v.region_code.endswith("00") and v.value >= 5 for v in page.items)
    with rt.transaction() as s:  # a larger k refuses the same groups (the smallest city has 88 persons)
        rt.settings.analysis_min_group = 100
        try:
            with pytest.raises(store.IndicatorReleaseRefused, match="最小分组规模 100"):
                store.compute_sql(s, rt.settings, s.scalar(select(AnalysisIndicator).where(
                    AnalysisIndicator.code == "PEOPLE.CITY")), store.SqlDefinition(sql=PER_CITY))
        finally:
            rt.settings.analysis_min_group = 5


def test_an_open_statistical_table_is_published_as_it_is_and_nothing_else(rt, gat):
    _define(rt, gat["tjj_steward"], "GDP", UNPIVOT, "open", gat["tjj"])  # 无条件开放 with a layout: as a series
    assert _recompute(rt, "GDP").errors == [] and _values(rt, "GDP") > 0
    with rt.transaction() as s:  # the registry marked 无条件开放 is still no statistical table: checked
        find_resource(s, PEOPLE).open_type = "无条件开放"
    with pytest.raises(store.IndicatorReleaseRefused), rt.transaction() as s:
        service.create_indicator(s, gat["steward"], _write("LEAK", ATTACK, "open", gat["dept"]))
    with rt.transaction() as s:  # nor is a statistical table that is not open
        find_resource(s, GDP).open_type = "有条件开放"
    with pytest.raises(store.IndicatorReleaseRefused) as err, rt.transaction() as s:
        service.create_indicator(s, gat["tjj_steward"], _write("GDP2", UNPIVOT, "open", gat["tjj"]))
    assert err.value.details["rule"] == "aggregates_only"


def test_a_formula_is_no_wider_than_its_unchecked_inputs(rt, gat):
    _define(rt, gat["steward"], "MINE", ATTACK, "internal", gat["dept"])
    yoy = {"kind": "formula", "op": "yoy", "inputs": ["MINE"]}
    for publication in ("open", "share-conditional"):
        with pytest.raises(store.IndicatorReleaseRefused) as err, rt.transaction() as s:
            service.create_indicator(s, gat["steward"], _write("MINE.G", yoy, publication, gat["dept"]))
        assert err.value.details["rule"] == "formula_inputs"
    _define(rt, gat["steward"], "MINE.G", yoy, "internal", gat["dept"])
    with pytest.raises(store.IndicatorReleaseRefused), rt.transaction() as s:  # nor over an internal formula
        service.create_indicator(s, gat["steward"], _write("MINE.GG", {"kind": "formula", "op": "mom",
                                                                        "inputs": ["MINE.G"]}, "open", gat["dept"]))
    _define(rt, gat["steward"], "CITY", PER_CITY, "open", gat["dept"])
    _define(rt, gat["steward"], "CITY.G", {"kind": "formula", "op": "yoy", "inputs": ["CITY"]}, "open", gat["dept"])
    with pytest.raises(store.IndicatorReleaseRefused) as err, rt.transaction() as s:  # its input cannot narrow
        service.update_indicator(s, gat["steward"], "CITY", _write("CITY", PER_CITY, "internal", gat["dept"]))
    assert err.value.details["users"] == ["CITY.G"]


def test_the_api_answers_422_naming_the_rule_and_audits_the_refusal(rt, gat, client, token_for):
    headers = token_for("gat_steward")
    body = {"code": "LEAK", "name": "LEAK", "unit": "年", "frequency": "年", "region_level": "市州",
            "definition": {"kind": "sql", "sql": ATTACK}, "publication": "open", "owner_department_id": gat["dept"]}
    r = client.post("/api/v1/analysis/indicators", headers=headers, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "analysis_release_refused"
    assert "发布规则" in r.json()["error"]["message"]
    en = client.post("/api/v1/analysis/indicators", headers={**headers, "Accept-Language": "en"}, json=body)
    assert "release rules" in en.json()["error"]["message"]
    with rt.transaction() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "rejected")).all()
        assert any(json.loads(e.details).get("code") == "analysis_release_refused" for e in refused)
        assert s.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == "LEAK")) is None
    body["publication"] = "internal"
    assert client.post("/api/v1/analysis/indicators", headers=headers, json=body).status_code in (200, 201)
