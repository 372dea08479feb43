"""Suggested rules: proposed from a new entry's data, accepted, edited or dropped by the steward
(API and form), saved as the entry's rule set (versioned, audited); a new entry's rules box
holds no other table's rules."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.unit.quality.conftest import DATA, World

from shudata.quality.profile import nice_bounds, profile_file
from shudata.quality.rules import parse_rule, parse_rule_set
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine

REAL = Path(__file__).resolve().parents[2] / "data" / "ingest" / "real"
Headers = Callable[[str], dict[str, str]]


def _rules(path: Path, engine: DuckDBEngine, lookups: dict[str, TableSource]) -> dict[str, dict[str, Any]]:
    prof = profile_file(engine, path, lookups=lookups)
    out = {}
    for c in prof.columns:
        for r in c.suggested_rules:
            rule = parse_rule(r)  # every suggestion is a valid rule as it stands
            assert r.get("note", "").startswith("建议依据：")
            out[rule.key] = r
    return out


def test_moe_institutions_suggest_a_unique_code_and_code_lists(engine: DuckDBEngine,
                                                               lookups: dict[str, TableSource]) -> None:
    rules = _rules(DATA / "moe_higher_education_institutions_2017.xls", engine, lookups)
    assert rules["unique:学校标识码"]["columns"] == ["学校标识码"]
    assert rules["not_null:学校标识码"]["severity"] == "block"
    assert rules["not_null:学校名称"]["severity"] == "block"
    assert rules["enum:办学层次"]["values"] == ["专科", "本科"]
    assert len(rules["enum:主管部门"]["values"]) == 85 and "教育部" in rules["enum:主管部门"]["values"]
    assert rules["enum:备注"]["values"] == ["中外合作办学", "内地与港澳台地区合作办学", "民办"]
    assert "enum:所在地" not in rules  # 331 places: not a code list
    assert "not_null:备注" not in rules and "unique:学校名称" not in rules


def test_scenic_areas_suggest_grades_and_coordinate_ranges(engine: DuckDBEngine,
                                                           lookups: dict[str, TableSource]) -> None:
    rules = _rules(DATA / "sichuan_a_grade_scenic_areas.xlsx", engine, lookups)
    assert rules["enum:等级"]["values"] == ["1A", "2A", "3A", "4A", "5A"]
    assert (rules["range:经度"]["min"], rules["range:经度"]["max"]) == (90, 110)
    assert (rules["range:纬度"]["min"], rules["range:纬度"]["max"]) == (26, 35)
    assert "unique:名称" not in rules and rules["not_null:名称"]["severity"] == "block"
    assert "enum:所在区县" not in rules  # 183 counties over 819 rows


def test_gdp_csv_suggests_ranges_with_round_bounds(engine: DuckDBEngine, lookups: dict[str, TableSource]) -> None:
    rules = _rules(DATA / "gdp_100m_yuan.csv", engine, lookups)
    assert (rules["range:2024年"]["min"], rules["range:2024年"]["max"]) == (0, 150000)
    assert (rules["range:2017年"]["min"], rules["range:2017年"]["max"]) == (1000, 94000)
    assert rules["not_null:地区"]["severity"] == "block"
    assert "enum:地区" not in rules  # 31 regions, one row each
    years = [k for k in rules if k.startswith("range:")]
    assert len(years) == 19


def test_money_supply_ranges_keep_negative_growth(engine: DuckDBEngine, lookups: dict[str, TableSource]) -> None:
    rules = _rules(REAL / "national_money_supply_1999-2021_gbk.csv", engine, lookups)
    growth = [r for k, r in rules.items() if k.startswith("range:") and "同比增长" in k]
    assert growth and all(r["min"] <= 0 < r["max"] for r in growth if "M0" in r["column"])


def test_dates_get_a_window(tmp_path: Path, engine: DuckDBEngine, lookups: dict[str, TableSource]) -> None:
    path = tmp_path / "reg.csv"
    path.write_text("注册号,注册日期\n" + "\n".join(f"R{i:04d},1993-0{1 + i % 9}-1{i % 10}" for i in range(50)) + "\n",
                    encoding="utf-8")
    prof = profile_file(engine, path, lookups=lookups)
    rules = {parse_rule(r).key: r for c in prof.columns for r in c.suggested_rules}
    assert rules["date:注册日期"]["min"] == "1993-01-01" and rules["date:注册日期"]["max"] >= "2026-12-31"
    assert "unique:注册号" in rules and "not_null:注册号" in rules


@pytest.mark.parametrize(("lo", "hi", "bounds"), [
    (2765.3, 141000.9, (0, 150000)), (100.0, 106.5, (100, 110)), (-0.6, 18.3, (-1, 19)), (3, 3, (3, 3)),
    (-12.5, -3.2, (-13, -3)), (0.5, 0.9, (0.5, 0.9)), (1973, 2013, (1900, 2100)),
])
def test_nice_bounds(lo: float, hi: float, bounds: tuple[float, float]) -> None:
    assert nice_bounds(lo, hi) == bounds
    assert bounds[0] <= lo and hi <= bounds[1]


# -- service and API (SQLite and PostgreSQL) -----------------------------------------------------

@pytest.fixture
def moe_entry(world: World, add_resource: Callable[..., str]) -> str:
    """A new entry without information items (types inferred) and the real MOE workbook as its data."""
    from shudata.jobs.ingest import ingest_file

    code = add_resource(world.dept, "全国普通高等学校名单", [])
    with world.rt.transaction() as s:
        ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=code,
                    path=DATA / "moe_higher_education_institutions_2017.xls")
    return code


@pytest.fixture
def scenic_entry(world: World, add_resource: Callable[..., str]) -> str:
    from shudata.jobs.ingest import ingest_file

    code = add_resource(world.dept, "四川省A级旅游景区名录", [])
    with world.rt.transaction() as s:
        ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=code,
                    path=DATA / "sichuan_a_grade_scenic_areas.xlsx")
    return code


def test_api_suggestions_accept_all_and_they_pass_on_their_data(client: Any, world: World, moe_entry: str,
                                                                token_for: Headers) -> None:
    h = token_for("steward1")
    r = client.get(f"/api/v1/quality/resources/{moe_entry}/rules/suggestions", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["rows"] == 2631 and body["current_revision"] is None
    by_key = {s["key"]: s for s in body["suggestions"]}
    assert {"unique:学校标识码", "not_null:学校标识码", "enum:办学层次", "enum:主管部门"} <= set(by_key)
    assert by_key["enum:办学层次"]["rule"]["values"] == ["专科", "本科"]
    assert by_key["unique:学校标识码"]["sentence_zh"] == "“学校标识码”的组合在各行间不得重复"
    rules = [s["rule"] for s in body["suggestions"]]
    r = client.post(f"/api/v1/quality/resources/{moe_entry}/rules/suggestions", headers=h,
                    json={"rules": rules, "offered": len(rules)})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 1 and r.json()["comment"] == "采纳建议规则 / accepted suggested rules"
    run = client.post(f"/api/v1/quality/resources/{moe_entry}/check", headers=h).json()
    assert len(run["results"]) == len(rules)
    assert [x["key"] for x in run["results"] if x["failed"]] == []  # drawn from the data, they hold on it


def test_api_accept_edited_and_dropped_saves_exactly_the_chosen_set(client: Any, world: World, scenic_entry: str,
                                                                    token_for: Headers) -> None:
    from sqlalchemy import select

    from shudata.audit.models import AuditEntry

    h = token_for("steward1")
    sugg = client.get(f"/api/v1/quality/resources/{scenic_entry}/rules/suggestions", headers=h).json()
    by_key = {s["key"]: s["rule"] for s in sugg["suggestions"]}
    assert by_key["enum:等级"]["values"] == ["1A", "2A", "3A", "4A", "5A"]
    lon = {**by_key["range:经度"], "min": 97, "max": 109}  # edited: Sichuan's longitudes
    chosen = [by_key["not_null:名称"], by_key["enum:等级"], lon]
    r = client.post(f"/api/v1/quality/resources/{scenic_entry}/rules/suggestions", headers=h,
                    json={"rules": chosen, "comment": "按建议", "offered": len(by_key)})
    assert r.status_code == 200, r.text
    saved = client.get(f"/api/v1/quality/resources/{scenic_entry}/rules", headers=h).json()
    assert saved["comment"] == "按建议"
    assert parse_rule_set(saved["spec"]) == parse_rule_set(chosen)
    assert [x.key for x in parse_rule_set(saved["spec"]).rules] == ["not_null:名称", "enum:等级", "range:经度"]
    with world.rt.transaction() as s:
        ev = s.scalars(select(AuditEntry).where(AuditEntry.action == "quality.rules.edit")
                       .order_by(AuditEntry.id.desc())).first()
        assert ev is not None and ev.resource_id == scenic_entry
        details = json.loads(ev.details)
        assert details["source"] == "suggested" and details["accepted"] == 3 and details["revision"] == 1
        assert details["dropped"] == len(by_key) - 3
    # accepting more later keeps the rules in force unless told to replace them
    r = client.post(f"/api/v1/quality/resources/{scenic_entry}/rules/suggestions", headers=h,
                    json={"rules": [by_key["range:纬度"]], "replace": False})
    assert r.status_code == 200 and r.json()["revision"] == 2
    assert [parse_rule(x).key for x in r.json()["spec"]["rules"]] == \
        ["not_null:名称", "enum:等级", "range:经度", "range:纬度"]


def test_api_refusals(client: Any, world: World, scenic_entry: str, add_resource: Callable[..., str],
                      token_for: Headers) -> None:
    h = token_for("steward1")
    url = f"/api/v1/quality/resources/{scenic_entry}/rules/suggestions"
    assert client.get(url, headers=token_for("steward2")).status_code == 403  # another department
    assert client.get(url, headers=token_for("user1")).status_code == 403  # not a steward
    bad = client.post(url, headers=h, json={"rules": [{"type": "range", "column": "经度", "min": "东经"}]})
    assert bad.status_code == 422 and "规则 #1（range）有误：字段“min”：应为数字" in bad.json()["error"]["message"]
    missing = client.post(url, headers=h, json={"rules": [{"type": "not_null", "column": "电话"}]})
    assert missing.status_code == 422 and "rule_missing_column" in missing.text
    empty = add_resource(world.dept, "尚无数据的条目", ["名称"])
    r = client.get(f"/api/v1/quality/resources/{empty}/rules/suggestions", headers=h)
    assert r.status_code == 200 and r.json()["version"] is None and r.json()["suggestions"] == []


def test_api_refuses_control_characters_in_accepted_suggestions(client: Any, world: World, scenic_entry: str,
                                                                 token_for: Headers) -> None:
    """A code list's values (and the comment) as the steward edited them: NUL, ESC or a right-to-left
    override is refused (422 control_characters, the refusal audited, no rule set saved); line breaks
    in a value stay (a value must match the data exactly). Found by the forms sweep."""
    from sqlalchemy import select

    from shudata.audit.models import AuditEntry

    h = token_for("steward1")
    url = f"/api/v1/quality/resources/{scenic_entry}/rules/suggestions"
    grades = {"type": "enum", "column": "等级", "values": ["1A", "2A", "3A", "4A", "5A"]}
    for body in ({"rules": [{**grades, "values": ["1A", "2A\x00", "3A"]}]},
                 {"rules": [{**grades, "values": ["1A", "\u202e5A"]}]},
                 {"rules": [{**grades, "note": "代码表\x1b[2J"}]},
                 {"rules": [grades], "comment": "按建议\x00"}):
        r = client.post(url, headers=h, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "control_characters" and "控制字符" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/quality/resources/{scenic_entry}/rules", headers=h).json() is None
    with world.rt.transaction() as s:
        said = [json.loads(e.details) for e in s.scalars(select(AuditEntry).where(AuditEntry.outcome == "rejected"))]
        assert sum(1 for d in said if d.get("code") == "control_characters" and d.get("path") == url) == 4
    r = client.post(url, headers=h, json={"rules": [{**grades, "values": [*grades["values"], "6A\n"]}]})
    assert r.status_code == 200 and r.json()["spec"]["rules"][0]["values"][-1] == "6A\n", r.text


# -- pages -------------------------------------------------------------------------------------------

def _login(client: Any) -> None:
    client.post("/login", data={"username": "steward1", "password": "Tianfu-Data-7", "next": "/"})


@pytest.mark.sqlite_only
def test_new_entry_page_has_no_other_tables_rules(client: Any, world: World, moe_entry: str) -> None:
    _login(client)
    page = client.get(f"/quality/resources/{moe_entry}")
    assert page.status_code == 200
    box = re.search(r'<textarea[^>]*id="rules-spec"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert box is not None and box.group(1).strip() == ""
    assert "5A" not in page.text and "等级" not in page.text
    assert f'hx-get="/quality/resources/{moe_entry}/suggestions"' in page.text
    frag = client.get(f"/quality/resources/{moe_entry}/suggestions", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text
    assert 'id="suggestions-form"' in frag.text and "学校标识码" in frag.text and "本科" in frag.text
    full = client.get(f"/quality/resources/{moe_entry}/suggestions")
    assert full.status_code == 200 and "<html" in full.text and 'id="suggestions-form"' in full.text
    en = client.get(f"/quality/resources/{moe_entry}/suggestions?lang=en", headers={"HX-Request": "true"})
    assert en.status_code == 200


@pytest.mark.sqlite_only
def test_a_reader_who_may_not_edit_rules_sees_a_note_not_a_form(client: Any, world: World, moe_entry: str) -> None:
    client.post("/login", data={"username": "user1", "password": "Tianfu-Data-7", "next": "/"})
    frag = client.get(f"/quality/resources/{moe_entry}/suggestions", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "由本部门数据管理员采纳" in frag.text and "suggestions-form" not in frag.text
    assert "学校标识码" not in frag.text  # no raw values either
    assert client.get(f"/quality/resources/{moe_entry}/suggestions").status_code == 403


def _form_fields(html: str) -> dict[str, str]:
    import html as h

    fields: dict[str, str] = {}
    for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*>', html):
        tag = m.group(0)
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue
        val = re.search(r'value="([^"]*)"', tag)
        fields[m.group(1)] = h.unescape(val.group(1)) if val else ""
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[m.group(1)] = h.unescape(m.group(2))
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        sel = re.search(r'<option value="([^"]+)" selected', m.group(2))
        fields[m.group(1)] = sel.group(1) if sel else ""
    return fields


@pytest.mark.sqlite_only
def test_form_accepts_edits_and_drops(client: Any, world: World, scenic_entry: str) -> None:
    from shudata.quality import service

    _login(client)
    frag = client.get(f"/quality/resources/{scenic_entry}/suggestions", headers={"HX-Request": "true"}).text
    fields = _form_fields(frag)
    offered = int(fields["offered"])
    keys = {parse_rule(json.loads(fields[f"rule_{i}"])).key: i for i in range(offered)}
    lon, grade, name = keys["range:经度"], keys["enum:等级"], keys["not_null:名称"]
    fields[f"max_{lon}"] = "109"  # edit a bound
    fields[f"values_{grade}"] = "5A\n4A\n3A"  # narrow the code list
    fields[f"severity_{grade}"] = "block"
    del fields[f"keep_{name}"]  # drop one
    bad = dict(fields, **{f"min_{lon}": "东经97度"})
    r = client.post(f"/quality/resources/{scenic_entry}/suggestions", data=bad)
    assert r.status_code == 422
    assert f"规则 #{lon + 1}（range）有误：字段“min”：应为数字" in r.text
    assert "东经97度" in r.text and 'id="suggestions-form"' in r.text  # shown again as submitted
    r = client.post(f"/quality/resources/{scenic_entry}/suggestions", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    with world.rt.transaction() as s:
        saved = service.get_rule_set(session=s, actor=world.steward, resource=scenic_entry)
    assert saved is not None and saved.revision == 1
    got = {r.key: r for r in parse_rule_set(saved.spec).rules}
    assert set(got) == set(keys) - {"not_null:名称"}
    assert got["range:经度"].max == 109 and got["range:经度"].min == 90  # type: ignore[attr-defined]
    assert got["enum:等级"].values == ["5A", "4A", "3A"] and got["enum:等级"].severity == "block"  # type: ignore


def test_api_stored_dates_and_numbers_get_windows_and_ranges(client: Any, world: World, tmp_path: Path,
                                                            add_resource: Callable[..., str],
                                                            token_for: Headers) -> None:
    """Typed columns of a stored version (date32, int64, double): a date window, ranges, a code list
    — and, accepted as they are, they pass on the data they were drawn from."""
    from shudata.jobs.ingest import ingest_file
    from shudata.standards.uscc import complete as complete_uscc

    path = tmp_path / "registrations.csv"
    lines = [f"{complete_uscc(f'91510100MA{i:07d}')},成都{i}有限公司,{('有限责任公司', '股份有限公司')[i % 2]},"
             f"{1993 + i % 20}-{1 + i % 12:02d}-{1 + i % 28:02d},{50 + i * 3},{12.5 + i / 7:.2f}" for i in range(120)]
    header = "登记编号,企业名称,企业类型,注册日期,从业人数,注册资金\n"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    code = add_resource(world.dept, "企业登记名录", [])
    with world.rt.transaction() as s:
        v = ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=code, path=path)
        types = {c["name"]: c["type"] for c in v.columns}
    assert types["注册日期"].startswith("date") and types["从业人数"] == "int64" and types["注册资金"] == "double"
    h = token_for("steward1")
    body = client.get(f"/api/v1/quality/resources/{code}/rules/suggestions", headers=h).json()
    by_key = {s["key"]: s["rule"] for s in body["suggestions"]}
    assert by_key["date:注册日期"]["min"] == "1993-01-01"
    assert by_key["date:注册日期"]["max"] >= f"{dt.date.today().year}-12-31"
    assert (by_key["range:从业人数"]["min"], by_key["range:从业人数"]["max"]) == (50, 410)
    assert (by_key["range:注册资金"]["min"], by_key["range:注册资金"]["max"]) == (12, 30)
    assert by_key["enum:企业类型"]["values"] == ["有限责任公司", "股份有限公司"]
    assert {"unique:登记编号", "uscc:登记编号", "not_null:企业名称"} <= set(by_key)
    rules = list(by_key.values())
    assert client.post(f"/api/v1/quality/resources/{code}/rules/suggestions", headers=h,
                       json={"rules": rules}).status_code == 200
    run = client.post(f"/api/v1/quality/resources/{code}/check", headers=h).json()
    assert len(run["results"]) == len(rules) and [x["key"] for x in run["results"] if x["failed"]] == []


def test_a_days_dates_are_no_code_list(tmp_path: Path, engine: DuckDBEngine, lookups: dict[str, TableSource]) -> None:
    """Hourly readings over a few days (as the Sichuan station files): Date holds 3 values, each
    repeated, but a date column is no code list; the station names are."""
    path = tmp_path / "aqi.csv"
    rows = [f"2020032{6 + d},{h:02d},{('三瓦窑', '十里店')[h % 2]},{50 + h}" for d in range(3) for h in range(24)]
    path.write_text("Date,Hour,WatchPoint,AQI\n" + "\n".join(rows) + "\n", encoding="utf-8")
    rules = _rules(path, engine, lookups)
    assert not any(k.startswith("enum:Date") for k in rules)
    assert rules["enum:WatchPoint"]["values"] == ["三瓦窑", "十里店"]
