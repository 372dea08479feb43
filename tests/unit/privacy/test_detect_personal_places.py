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

EMPLOYERS = ["四川蜀道建设有限公司", "成都天府软件园有限公司", "四川省人民医院", "成都市第七中学", "绵阳市涪城区供销合作社"]


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
    assert found["工作单位"].entity == "ORGANIZATION"


def test_the_open_gate_refuses_unmasked_home_addresses_next_to_an_employer() -> None:
    table = _employees("家庭住址").drop_columns(["姓名"])  # names already dropped: the addresses still may not leave
    result = check_export(table, profile="open")
    assert "家庭住址" in {v.column for v in result.violations}
    assert "单位地址" not in {v.column for v in result.violations}  # the employer's address is not personal
