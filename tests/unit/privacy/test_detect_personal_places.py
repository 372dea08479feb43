"""A person's own address stays personal even in a table that also names organisations.

The table context rule (an address is a place's unless the rows are about persons) must not
let an employee list — 姓名, 工作单位 (a handful of employers), 家庭住址, 手机号 — out with its home
addresses: the header says whose address it is.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from faker import Faker

from shudata.privacy.detect.classify import scan_table
from shudata.privacy.gate import check_export

EMPLOYERS = ["四川蜀道建设有限公司", "成都天府软件园有限公司", "四川省人民医院", "成都市第七中学",
             "绵阳市涪城区供销合作社"]


def _employees(home_header: str, rows: int = 400) -> pa.Table:
    fake = Faker("zh_CN")
    fake.seed_instance(7)
    return pa.table({
        "姓名": [fake.name() for _ in range(rows)],
        "工作单位": [EMPLOYERS[i % len(EMPLOYERS)] for i in range(rows)],
        home_header: [fake.address().split(" ")[0] for _ in range(rows)],
        "单位地址": [f"四川省成都市武侯区天府大道北段{i % len(EMPLOYERS) + 1}号" for i in range(rows)],
    })


@pytest.mark.parametrize("header", ["家庭住址", "户籍地址", "现居住地址", "home_address"])
def test_home_addresses_in_an_employee_list_are_personal(header: str) -> None:
    found = {c.column: c for c in scan_table(_employees(header), source="employees").columns}
    assert found["姓名"].entity == "PERSON_NAME"
    assert found[header].entity == "ADDRESS", found[header].evidence
    assert found["工作单位"].entity is None and found["工作单位"].not_personal == "ORGANIZATION"  # their employer


def test_the_open_gate_refuses_unmasked_home_addresses_next_to_an_employer() -> None:
    table = _employees("家庭住址").drop_columns(["姓名"])  # names already dropped: the addresses still may not leave
    result = check_export(table, profile="open")
    assert "家庭住址" in {v.column for v in result.violations}
    assert "单位地址" not in {v.column for v in result.violations}  # the employer's address is not personal


def test_a_patient_list_with_its_hospitals_keeps_a_plain_address_personal() -> None:
    """No header hint this time (地址): the hospitals repeat, the names differ — the rows are about
    the patients, so their addresses are personal; the hospitals' names are kept as they are."""
    table = _employees("地址").rename_columns(["姓名", "就诊医院", "地址", "医院地址"])
    found = {c.column: c for c in scan_table(table, source="patients").columns}
    assert found["地址"].entity == "ADDRESS", found["地址"].evidence
    assert found["就诊医院"].entity is None and found["就诊医院"].not_personal == "ORGANIZATION"
    assert "地址" in {v.column for v in check_export(table, profile="open").violations}


def test_an_enterprise_register_is_still_about_its_enterprises() -> None:
    """Each enterprise once, its legal representative beside it: the domicile is the enterprise's."""
    fake = Faker("zh_CN")
    fake.seed_instance(11)
    rows = 300
    table = pa.table({"企业名称": [fake.company() for _ in range(rows)],
                      "法定代表人": [fake.name() for _ in range(rows)],
                      "地址": [fake.address().split(" ")[0] for _ in range(rows)]})
    found = {c.column: c for c in scan_table(table, source="register").columns}
    assert found["企业名称"].entity == "ORGANIZATION"
    assert found["地址"].entity is None and found["地址"].not_personal == "ADDRESS"
