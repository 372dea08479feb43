"""The base-registry generators: valid check characters, consistent fields, determinism."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa
import pytest

from shudata.demo.generators.credit import generate_credit_records
from shudata.demo.generators.entities import generate_entities
from shudata.demo.generators.persons import generate_persons, resident_id
from shudata.standards.cn_id import parse_resident_id
from shudata.standards.regions import all_regions, sichuan_counties
from shudata.standards.uscc import is_valid_uscc

SICHUAN = {r.code for r in sichuan_counties()}


@pytest.fixture(scope="module")
def persons() -> pa.Table:
    return generate_persons(400, seed=7)


@pytest.fixture(scope="module")
def entities() -> pa.Table:
    return generate_entities(200, seed=7)


SEX = {"1": "男", "2": "女"}


def test_every_resident_id_is_valid_and_consistent(persons: pa.Table) -> None:
    for row in persons.to_pylist():
        parsed = parse_resident_id(row["公民身份号码"])
        assert parsed is not None, row["公民身份号码"]
        assert parsed.region_code == row["行政区划代码"] in SICHUAN
        assert parsed.birth_date == row["出生日期"]
        assert parsed.sex == SEX[row["性别"]]
        assert row["出生地"].startswith("四川省") and row["户籍地址"].startswith(row["出生地"])
        assert row["死亡日期"] is None or row["出生日期"] < row["死亡日期"]


def test_coded_person_fields_use_national_codes(persons: pa.Table) -> None:
    assert set(persons.column("民族").to_pylist()) <= {"01", "02", "03", "04", "06", "07", "15", "33"}
    assert set(persons.column("婚姻状况").to_pylist()) <= {"10", "20", "30", "40"}
    assert set(persons.column("文化程度").to_pylist()) <= {"10", "20", "30", "40", "60", "70", "80", "90"}


def test_resident_ids_are_unique(persons: pa.Table) -> None:
    ids = persons.column("公民身份号码").to_pylist()
    assert len(set(ids)) == len(ids) == 400


def test_both_sexes_and_several_ethnic_groups(persons: pa.Table) -> None:
    assert set(persons.column("性别").to_pylist()) == {"1", "2"}
    assert "01" in persons.column("民族").to_pylist()
    assert len(set(persons.column("民族").to_pylist())) > 1


def test_resident_id_sequence_parity_sets_sex() -> None:
    male = parse_resident_id(resident_id("510104", dt.date(1990, 1, 2), 1))
    female = parse_resident_id(resident_id("510104", dt.date(1990, 1, 2), 2))
    assert male is not None and male.sex == "男"
    assert female is not None and female.sex == "女"


def test_every_credit_code_is_valid_and_region_consistent(entities: pa.Table) -> None:
    for row in entities.to_pylist():
        code = row["统一社会信用代码"]
        assert is_valid_uscc(code, strict_org_code=True), code
        assert code[0] == "9" and code[1] in "123"
        assert code[2:8] == row["行政区划代码"] in SICHUAN
        assert row["住所"].startswith("四川省")
        assert row["注册资本"] > 0
        assert row["登记机关"].endswith("市场监督管理局")


def test_entity_codes_and_names_are_unique(entities: pa.Table) -> None:
    for col in ("统一社会信用代码", "机构名称"):
        values = entities.column(col).to_pylist()
        assert len(set(values)) == len(values)


def test_credit_records_point_at_registered_entities(entities: pa.Table) -> None:
    records = generate_credit_records(entities, seed=7)
    by_code = {e["统一社会信用代码"]: e for e in entities.to_pylist()}
    assert records.num_rows > 0
    kinds = set()
    for rec in records.to_pylist():
        ent = by_code[rec["统一社会信用代码"]]
        assert rec["主体名称"] == ent["机构名称"]
        assert rec["决定日期"] >= ent["成立日期"]
        assert is_valid_uscc(rec["决定机关统一社会信用代码"], strict_org_code=True)
        assert rec["决定机关统一社会信用代码"][2:8] == ent["行政区划代码"]
        kinds.add(rec["信用类型"])
        if rec["信用类型"] == "行政处罚":
            assert rec["罚款金额"] > 0 and rec["有效期至"] is None and "罚款" in rec["内容"]
        else:
            assert rec["罚款金额"] is None and rec["有效期至"] > rec["决定日期"]
    assert kinds == {"行政许可", "行政处罚"}
    assert len(set(records.column("决定文书号").to_pylist())) == records.num_rows


@pytest.mark.parametrize("make", [
    lambda seed: generate_persons(50, seed=seed),
    lambda seed: generate_entities(50, seed=seed),
    lambda seed: generate_credit_records(generate_entities(30, seed=seed), seed=seed),
], ids=["persons", "entities", "credit"])
def test_same_seed_same_table_other_seed_other_table(make: Callable[[int], pa.Table]) -> None:
    assert make(3).equals(make(3))
    assert not make(3).equals(make(4))


def test_all_region_codes_are_current_counties(persons: pa.Table, entities: pa.Table) -> None:
    regions = all_regions()
    codes = set(persons.column("行政区划代码").to_pylist()) | set(entities.column("行政区划代码").to_pylist())
    assert all(regions[c].level == "county" and regions[c].name != "市辖区" for c in codes)
