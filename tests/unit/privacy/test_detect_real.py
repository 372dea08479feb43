"""Detection on real organisation and place tables, and on enterprise registers: the `open` profile
masks no column of a table that is not about persons, organisation names and business scopes are
not person names, while person-name columns and names in free text still are."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from shudata.privacy.detect.classify import classify_column, scan_table
from shudata.privacy.gate import check_export
from shudata.privacy.policy import Policy, resolve
from shudata.privacy.readers import read_file
from shudata.privacy.synthdata import citizens
from shudata.privacy.synthorgs import SCOPES, enterprises

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))
import detect_eval  # noqa: E402

# Organisation and place tables: scenic areas, universities, hospitals and schools (POI), regions,
# monitoring stations, earthquakes. Those not copied into the repo run when ../shared is present.
PLACE_TABLES = ("opendata/sichuan_a_grade_scenic_areas.xlsx", "opendata/moe_higher_education_institutions_2017.xls",
                "public_services/wuhan_hospitals_amap_poi.csv", "public_services/wuhan_schools_amap_poi.csv",
                "regions/provinces.csv", "regions/cities.csv", "regions/areas.csv", "regions/cpca_adcodes.csv",
                "regions/streets_sichuan.csv", "environment/sichuan_station_hourly_2020-03/5113_nanchong.csv",
                "disaster/longmenshan_earthquakes_usgs_1973-2013.xls")


def _real(key: str) -> Path:
    found = detect_eval.real_files(key)
    if not found:
        pytest.skip(f"{key}: neither ../shared/data nor a copy in the repo")
    return found[0]


def test_every_column_of_every_readable_real_table_is_labelled() -> None:
    files, skipped = detect_eval.load_labels()
    assert "transport/chengdu_metro_lines_stations.js" in skipped
    assert sum(len(cols) for cols in files.values()) > 300


@pytest.mark.parametrize("key", PLACE_TABLES)
def test_open_profile_masks_nothing_in_an_organisation_or_place_table(key: str) -> None:
    table = read_file(_real(key), as_text=True)
    report = scan_table(table, source=key)
    findings = {c.column: c.entity for c in report.columns}
    ops = resolve(Policy.parse({"name": "default-open", "profile": "open"}), table.schema, findings)
    assert {c: op.name for c, op in ops.items() if op.name != "keep"} == {}  # none of these tables is personal
    assert check_export(table, profile="open", person_table=False).passed


def test_scenic_areas_address_and_coordinates_are_not_personal() -> None:
    table = read_file(_real("opendata/sichuan_a_grade_scenic_areas.xlsx"), as_text=True)
    cols = {c.column: c for c in scan_table(table, source="scenic").columns}
    for name, looks_like in (("地址", "ADDRESS"), ("经度", "GPS_COORDINATE"), ("纬度", "GPS_COORDINATE")):
        assert cols[name].entity is None and cols[name].not_personal == looks_like
        assert "不属个人信息" in cols[name].evidence
    assert check_export(table, profile="open").passed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_company_names_and_business_scopes_are_not_person_names(seed: int) -> None:
    table = enterprises(400, seed=seed)
    rng = np.random.default_rng(seed)
    tricky = SCOPES[-6:]  # each holds a word jieba tags as a name (苗木, 桂圆, 宋锦, 汪家 …)
    assert "汪家拐米粉" in tricky
    tail = "（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
    scope = ["；".join(rng.choice(tricky, size=2, replace=False)) + tail for _ in range(400)]
    table = table.append_column("经营范围（旧）", pa.array(scope))
    cols = {c.column: c for c in scan_table(table, source="enterprises").columns}
    assert cols["企业名称"].entity == "ORGANIZATION"
    assert cols["经营范围"].entity is None and cols["经营范围（旧）"].entity is None
    assert cols["法定代表人"].entity == "PERSON_NAME"  # a real person-name column still is
    assert cols["住所"].entity is None  # the register is about enterprises
    assert cols["企业类型"].entity is None  # kinds of enterprise, not names


def test_a_name_inside_a_company_name_is_no_person() -> None:
    names = pa.array([f"成都市金牛区{n}五金经营部" for n in citizens(300, seed=5).column("姓名").to_pylist()])
    found = classify_column("企业名称", names)
    assert found.entity == "ORGANIZATION"
    assert classify_column("col_3", names).entity == "ORGANIZATION"


def test_names_in_free_text_next_to_person_words_are_still_found() -> None:
    names = citizens(300, seed=6).column("姓名").to_pylist()
    notes = pa.array([f"{n}先生来电咨询社保关系转移，已告知所需材料" if i % 3 == 0 else "来电咨询医保报销政策，已解答"
                      for i, n in enumerate(names)])
    found = classify_column("备注", notes)
    assert found.entity == "PERSON_NAME" and found.free_text and found.examples
    assert all("*" in e for e in found.examples)


def test_findings_carry_their_evidence() -> None:
    report = scan_table(citizens(200, seed=8), source="citizens")
    idc = report.finding("身份证号")
    assert idc is not None and idc.recognizer == "cn_resident_id" and idc.header_match and idc.share > 0.95
    assert len(idc.examples) == 3 and all(e.count("*") == 16 for e in idc.examples)
    addr = report.finding("地址")
    assert addr is not None and addr.entity == "ADDRESS"  # a table about persons


@pytest.mark.parametrize(("text", "name", "in_org"), [
    ("与成都市金牛区王建国五金经营部签订合同", "王建国", True),  # a multi-character suffix further on
    ("张伟副食店", "张伟", True),  # a one-character suffix ending the run
    ("李明有限公司", "李明", True),
    ("客户张伟来电咨询办证进度", "张伟", False),
    ("张伟到银行办理业务", "张伟", False),  # 行 inside the sentence: a bank, not the name's company
    ("王建国来电咨询，五金店", "王建国", False),  # the shop is in another clause
])
def test_a_name_belongs_to_an_organisation_only_when_its_suffix_follows(text: str, name: str, in_org: bool) -> None:
    from shudata.privacy.detect.classify import _in_org_name

    assert _in_org_name(text, text.index(name) + len(name)) is in_org


def test_short_notes_need_a_person_word_next_to_the_name() -> None:
    names = citizens(300, seed=9).column("姓名").to_pylist()
    with_word = pa.array([f"请联系{n}先生，放门卫" if i % 5 == 0 else "工作日送货上门" for i, n in enumerate(names)])
    assert classify_column("订单备注", with_word).entity == "PERSON_NAME"
    without = pa.array([f"{n}小区东门" if i % 5 == 0 else "工作日送货上门" for i, n in enumerate(names)])
    assert classify_column("订单备注", without).entity is None  # short text: no name without a person word


def test_the_1993_registration_workbook_masks_only_the_legal_representative(tmp_path: Path) -> None:
    from support.messy import write_registration_workbook

    book = write_registration_workbook(tmp_path / "企业登记", rows=400, seed=1993)
    table = read_file(book.path, as_text=True)
    findings = {c.column: c.entity for c in scan_table(table, source=book.path.name).columns}
    assert findings["企业名称"] == "ORGANIZATION" and findings["经营范围"] is None
    ops = resolve(Policy.parse({"name": "default-open", "profile": "open"}), table.schema, findings)
    assert {c for c, op in ops.items() if op.name != "keep"} == {"法定代表人"}
