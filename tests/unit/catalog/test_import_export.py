"""Catalog import/export: round trip, row errors, all-or-nothing, encodings, formula safety."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from shudata.catalog import service
from shudata.catalog.import_export import export_catalog, import_catalog
from shudata.catalog.io_layout import ITEM_COLUMNS, RESOURCE_COLUMNS
from shudata.core.errors import InvalidInput

HEAD = ["资源代码", "资源名称", "提供方", "摘要", "共享类型", "共享条件", "共享方式", "更新周期", "分类代码"]
ITEM_HEAD = ["资源代码", "资源名称", "信息项名称", "数据类型", "数据长度", "信息项描述"]


def xlsx(resources: list[list[object]], items: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "资源"
    ws.append(HEAD)
    for r in resources:
        ws.append(r)
    wi = wb.create_sheet("信息项")
    wi.append(ITEM_HEAD)
    for i in items:
        wi.append(i)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD = ["", "四川省企业信用信息", "四川省市场监督管理局", "企业信用信息摘要", "1 无条件共享", "", "接口", "每月",
        "302001"]
GOOD2 = ["", "四川省企业年报信息", "四川省市场监督管理局", "年报摘要", "2", "用于监管", "库表", "每年", "302001"]
ITEMS = [["", "四川省企业信用信息", "统一社会信用代码", "C", 18, ""],
         ["", "四川省企业信用信息", "企业名称", "C", 200, ""],
         ["", "四川省企业年报信息", "年报年度", "N", 4, ""]]


def do_import(rt, actor, content, name="目录.xlsx", **kw):
    with rt.transaction() as s:
        return import_catalog(session=s, actor=actor, content=content, filename=name, **kw)


def count(rt, actor):
    with rt.transaction() as s:
        return service.list_resources(session=s, actor=actor).total


def test_xlsx_import_creates_entries_with_items(rt, world):
    rep = do_import(rt, world.steward, xlsx([GOOD, GOOD2], ITEMS))
    assert rep.created == ["302001/000001", "302001/000002"] and not rep.errors
    with rt.transaction() as s:
        r = service.get_resource(session=s, actor=world.user, key="302001/000001")
    assert [i.name for i in r.information_items] == ["统一社会信用代码", "企业名称"]
    assert r.information_items[0].length == 18


@pytest.mark.parametrize(("row", "column", "words"), [
    (["", "四川省不予共享信息", "四川省市场监督管理局", "摘要", "3", "", "接口", "每月", "302001"],
     "共享条件", "法律法规"),  # 不予共享 without a legal basis
    (["", "四川省某信息", "四川省市场监督管理局", "摘要", "9", "", "接口", "每月", "302001"],
     "共享类型", "无条件共享"),  # unknown sharing type
    (["", "四川省某信息", "不存在的局", "摘要", "1", "", "接口", "每月", "302001"],
     "提供方", "不存在"),  # unknown department
    (["", "四川省某信息", "四川省市场监督管理局", "摘要", "1", "", "接口", "每两年", "302001"],
     "更新周期", "取值无效"),  # bad update cycle
    (["", "四川省某信息", "四川省市场监督管理局", "", "1", "", "接口", "每月", "302001"],
     "摘要", "必填"),  # missing abstract
])
def test_one_bad_row_imports_nothing_and_names_row_and_column(rt, world, row, column, words):
    with pytest.raises(InvalidInput) as info:
        do_import(rt, world.steward, xlsx([GOOD, row], ITEMS[:2]))
    errors = info.value.details["errors"]
    assert [(e["sheet"], e["row"], e["column"]) for e in errors] == [("资源", 3, column)]
    assert words in errors[0]["message"] and "第 3 行" in info.value.zh
    assert count(rt, world.steward) == 0


def test_bad_item_row_is_reported_on_the_item_sheet(rt, world):
    items = [*ITEMS, ["", "四川省企业年报信息", "金额", "Z", "", ""]]
    with pytest.raises(InvalidInput) as info:
        do_import(rt, world.steward, xlsx([GOOD, GOOD2], items))
    assert [(e["sheet"], e["row"], e["column"]) for e in info.value.details["errors"]] == [("信息项", 5, "数据类型")]


def test_skip_invalid_imports_the_good_rows(rt, world):
    bad = ["", "四川省不予共享信息", "四川省市场监督管理局", "摘要", "3", "", "接口", "每月", "302001"]
    rep = do_import(rt, world.steward, xlsx([GOOD, bad, GOOD2], ITEMS), skip_invalid=True)
    assert len(rep.created) == 2 and rep.skipped_rows == 1 and rep.errors[0].row == 3
    assert count(rt, world.steward) == 2


def test_steward_cannot_import_for_another_department(rt, world):
    row = ["", "四川省户籍信息", "四川省公安厅", "摘要", "1", "", "接口", "每月", "101001"]
    with pytest.raises(InvalidInput) as info:
        do_import(rt, world.steward, xlsx([row], []))
    assert "无权" in info.value.details["errors"][0]["message"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_round_trip_keeps_chinese_and_neutralises_formulas(rt, world, add_entry, fmt):
    add_entry(world.steward, "=cmd|' /C calc'!A0 名录", abstract="@SUM(1+1) 企业摘要",
              information_items=[{"name": "-2+3 列", "data_type": "N"}, {"name": "企业名称", "data_type": "C"}])
    with rt.transaction() as s:
        data = export_catalog(session=s, actor=world.user, fmt=fmt)
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(data))
        assert [c.value for c in wb["资源"][1]] == list(RESOURCE_COLUMNS)
        assert wb["资源"].cell(2, 2).value == "'=cmd|' /C calc'!A0 名录"
        assert [c.value for c in wb["信息项"][1]] == ["资源代码", "资源名称", *ITEM_COLUMNS]
    else:
        text = data.decode("utf-8-sig")
        assert text.splitlines()[0].split(",")[:2] == ["资源代码", "资源名称"]
        assert "'=cmd|' /C calc'!A0 名录" in text and "'@SUM(1+1)" in text and "'-2+3 列" in text
    # re-import as an update: the values come back unescaped and nothing changes
    rep = do_import(rt, world.steward, data, name=f"目录.{fmt}")
    assert rep.unchanged == ["302001/000001"] and not rep.updated and not rep.errors
    with rt.transaction() as s:
        r = service.get_resource(session=s, actor=world.user, key="302001/000001")
    assert r.name == "=cmd|' /C calc'!A0 名录" and r.abstract == "@SUM(1+1) 企业摘要"
    assert [i.name for i in r.information_items] == ["-2+3 列", "企业名称"] and r.revision == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_import_in_common_encodings(rt, world, encoding):
    lines = [",".join([*HEAD, "信息项名称", "数据类型", "数据长度"]),
             ",".join([*[str(x) for x in GOOD], "统一社会信用代码", "C", "18"]),
             ",".join([*[str(x) for x in GOOD], "企业名称", "C", "200"])]
    rep = do_import(rt, world.steward, "\n".join(lines).encode(encoding), name="目录.csv")
    assert rep.created == ["302001/000001"]
    with rt.transaction() as s:
        r = service.get_resource(session=s, actor=world.user, key="302001/000001")
    assert r.provider_name == "四川省市场监督管理局" and len(r.information_items) == 2


@pytest.mark.parametrize(("content", "name", "code"), [
    (b"", "x.csv", "empty_file"),  # empty file
    ("资源代码,资源名称\n".encode(), "x.csv", "empty_file"),  # header only
    (b"\x00\x01\x02binary", "x.csv", "binary_file"),  # binary named .csv
    (b"PK\x03\x04broken", "x.xlsx", "bad_xlsx"),  # broken XLSX
])
def test_bad_files_are_refused_clearly(rt, world, content, name, code):
    from shudata.core.errors import ShudataError

    with pytest.raises(ShudataError) as info:
        do_import(rt, world.steward, content, name=name)
    assert info.value.code == code and 400 <= info.value.status < 500


@pytest.mark.parametrize(("resources", "items", "where"), [
    ([[*GOOD[:1], "长" * 201, *GOOD[2:]]], [], ("资源", 2, "资源名称")),  # over-long name
    ([GOOD], [["", "不存在的资源", "字段", "C", "", ""]], ("信息项", 2, "资源代码")),  # item of no resource
    ([GOOD], [["", GOOD[1], "企业名称", "C", "abc", ""]], ("信息项", 2, "数据长度")),  # length not a number
    ([GOOD], [["", GOOD[1], "企业名称", "C", "", ""], ["", GOOD[1], "企业名称", "C", "", ""]],
     ("信息项", 2, "信息项名称")),  # duplicate information items
])
def test_more_row_errors(rt, world, resources, items, where):
    with pytest.raises(InvalidInput) as info:
        do_import(rt, world.steward, xlsx(resources, items))
    errors = info.value.details["errors"]
    assert (errors[0]["sheet"], errors[0]["row"], errors[0]["column"]) == where
    assert count(rt, world.steward) == 0
