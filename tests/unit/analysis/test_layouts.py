"""NBS and monitoring layouts reshaped to long form, on every real file of tests/data/economy and
tests/data/environment: no cell lost, none invented, every region coded, every period parsed."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
import xlrd
from pydantic import TypeAdapter, ValidationError

from shudata.analysis.layouts import (
    LONG_SCHEMA,
    NATIONAL_CODE,
    Layout,
    NbsLayout,
    TableLayout,
    reshape,
)
from shudata.core.errors import InvalidInput
from support.analysis_data import DATA, layout_for, real_files, reshaped

FILES = real_files()
NBS_FILES = [p for p in FILES if p.is_relative_to(DATA / "economy")]
ENV_FILES = [p for p in FILES if p.is_relative_to(DATA / "environment")]


def test_every_real_file_is_covered() -> None:
    assert len(NBS_FILES) == 57  # 5 + 2 + 7 + 9 + 31 + 1 + 2, as PROVENANCE.md lists them
    assert len(ENV_FILES) == 22


def _oracle_cells(path: Path) -> tuple[Counter[tuple[int, str, float]], int]:
    """An independent reading of an NBS export: (line, header, value) of every non-empty cell between
    the header row and the first note/source line, and the number of empty cells there."""
    raw = path.read_bytes()
    if path.suffix == ".xls":
        sh = xlrd.open_workbook(file_contents=raw).sheet_by_index(0)
        rows = [(r + 1, [str(sh.cell_value(r, c)).strip() if sh.cell_type(r, c) == 1 else
                         ("" if sh.cell_type(r, c) == 0 else sh.cell_value(r, c)) for c in range(sh.ncols)])
                for r in range(sh.nrows)]
    else:
        text = raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" or path.parent.name.endswith("2014") \
            else raw.decode("gbk")
        reader = csv.reader(io.StringIO(text, newline=""))
        rows, line = [], 1
        for rec in reader:
            rows.append((line, [c.strip() for c in rec]))
            line = reader.line_num + 1
    header_i = next(i for i, (_, cells) in enumerate(rows)
                    if cells and cells[0] in ("地区", "指标", "时间", "") and sum(1 for c in cells[1:] if c != "") >= 1)
    header = [str(c) for c in rows[header_i][1]]
    width = max(i for i, h in enumerate(header) if h) + 1
    cells_seen: Counter[tuple[int, str, float]] = Counter()
    empty = 0
    for line, cells in rows[header_i + 1:]:
        first = str(cells[0]) if cells else ""
        if first.startswith(("注", "数据来源")):
            break
        for j in range(1, width):
            if j >= len(cells) or cells[j] == "":
                empty += 1
                continue
            cells_seen[(line, header[j], float(cells[j]))] += 1
    return cells_seen, empty


@pytest.mark.parametrize("path", NBS_FILES, ids=lambda p: p.relative_to(DATA).as_posix())
def test_nbs_file_no_lost_or_invented_cell(path: Path) -> None:
    out = reshaped(path)
    t = out.table
    assert t.schema == LONG_SCHEMA
    expected, empty = _oracle_cells(path)
    got = Counter(zip(t["source_row"].to_pylist(), t["source_column"].to_pylist(), t["value"].to_pylist(),
                      strict=True))
    assert got == expected
    assert out.empty_cells == empty
    assert t["region_code"].null_count == 0 and t["period"].null_count == 0 and t["value"].null_count == 0
    assert (out.notes and out.notes[-1] == "数据来源：国家统计局") or path.parent.name.endswith("1978-2014")
    assert t["frequency"].unique().to_pylist() in (["年"], ["月"])


def _row(path: str, **where: object) -> dict[str, object]:
    rows = [r for r in reshaped(DATA / path).table.to_pylist() if all(r[k] == v for k, v in where.items())]
    assert len(rows) == 1, rows
    return rows[0]


def test_known_values_units_and_regions() -> None:
    r = _row("economy/nbs_province_annual_gbk/gdp_100m_yuan.csv", region_code="510000", period="2024")
    assert (r["indicator"], r["unit"], r["region"], r["value"], r["source_row"], r["source_column"]) == \
        ("地区生产总值", "亿元", "四川省", 64537.9, 27, "2024年")
    r = _row("economy/nbs_province_monthly_cpi_2020q1_gbk/province_cpi_yoy_all.csv", region_code="510000",
             period="2020-02")
    assert (r["indicator"], r["unit"], r["value"]) == ("居民消费价格指数", "上年同月=100", 106.9)
    r = _row("economy/nbs_province_monthly_realestate_2017-2019/csv_utf8bom/四川.csv", period="2019-12",
             indicator="房地产投资累计值")
    assert (r["region_code"], r["unit"], r["value"]) == ("510000", "亿元", 6573.24)
    # the misspelt file name does not matter: the title line names the region
    r = _row("economy/nbs_province_monthly_realestate_2017-2019/csv_utf8bom/新疆维吾尔族自治区.csv",
             period="2019-12", indicator="房地产投资累计值")
    assert r["region_code"] == "650000"
    r = _row("economy/nbs_national_monthly/national_money_supply_1999-2021_gbk.csv", period="2021-05",
             indicator="货币和准货币(M2)供应量期末值")
    assert (r["region_code"], r["region"], r["unit"], r["value"]) == (NATIONAL_CODE, "全国", "亿元", 2275538.07)
    r = _row("economy/nbs_national_annual_1978-2014/gdp.csv", period="1978", indicator="人均国内生产总值")
    assert (r["unit"], r["value"]) == ("元", 381.750901969)
    r = _row("economy/nbs_xls_exports/major_cities_gdp_2015-2019.xls", region="成都市", period="2018")
    assert (r["region_code"], r["value"]) == ("510100", 15342.77)
    # the xls export and the CSV the repository author made of it agree cell for cell
    xls = reshaped(DATA / "economy/nbs_province_monthly_realestate_2017-2019/sichuan_original_export.xls").table
    csv_ = reshaped(DATA / "economy/nbs_province_monthly_realestate_2017-2019/csv_utf8bom/四川.csv").table
    assert xls.drop_columns(["source_row"]).equals(csv_.drop_columns(["source_row"]))


def test_chengdu_hourly_counts_match_provenance() -> None:
    t = reshaped(DATA / "environment/chengdu_pm25_hourly_2010-2015_uci.csv").table
    by = Counter(zip(t["indicator"].to_pylist(), t["site"].to_pylist(), strict=True))
    hours = 52_584
    # NA counts from PROVENANCE.md
    assert by[("PM2.5浓度", "草堂寺")] == hours - 28_164
    assert by[("PM2.5浓度", "沙河铺")] == hours - 27_990
    assert by[("PM2.5浓度", "美国领事馆")] == hours - 23_684
    assert set(t["region_code"].unique().to_pylist()) == {"510100"}
    first = t.slice(0, 1).to_pylist()[0]
    assert first["period"] == "2010-01-01T00" and first["frequency"] == "时"


def test_station_files_every_reading_once() -> None:
    dups = 0
    for path in [p for p in ENV_FILES if "station" in p.as_posix()]:
        out = reshaped(path)
        text = path.read_text(encoding="utf-8")
        records = list(csv.DictReader(io.StringIO(text, newline="")))
        distinct = {tuple((k, (v or "").strip()) for k, v in r.items()) for r in records}
        dups += len(records) - len(distinct)
        assert out.duplicate_rows == len(records) - len(distinct)
        cols = ["AQI", "PM2.5", "PM10", "CO", "NO2", "O3_1h", "O3_8h", "SO2"]
        present = sum(1 for r in distinct for k, v in r if k in cols and v not in ("", "NaN", "—"))
        assert out.table.num_rows == present
        assert set(out.table["region_code"].unique().to_pylist()) == {path.name[:4] + "00"}
        assert out.table["site"].null_count == 0
    assert dups == 777  # PROVENANCE.md: 777 exact duplicate rows


def test_layout_is_a_declarative_document() -> None:
    layout = layout_for(DATA / "environment/chengdu_pm25_hourly_2010-2015_uci.csv")
    assert isinstance(layout, TableLayout)
    again = TypeAdapter(Layout).validate_json(layout.model_dump_json())
    assert again == layout
    assert TypeAdapter(Layout).validate_python({"kind": "nbs"}) == NbsLayout()
    with pytest.raises(ValidationError):
        TypeAdapter(Layout).validate_python({"kind": "nbs", "orientation": "sideways"})


GOOD = ("数据库：分省年度数据\n指标：地区生产总值(亿元)\n时间：最近2年\n地区,2024年,2023年\n四川省,1.5,2\n"
        "数据来源：国家统计局\n")


def test_bad_cell_is_refused_with_its_place() -> None:
    with pytest.raises(InvalidInput) as e:
        reshape(GOOD.replace("1.5", "约1.5").encode("gbk"), "x.csv", NbsLayout())
    assert e.value.code == "analysis_layout_mismatch"
    assert e.value.details == {"row": 5, "column": "2024年", "value": "约1.5"}
    assert "第 5 行" in e.value.zh


def test_not_an_nbs_export_is_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        reshape("名称,数量\n甲,1\n".encode(), "x.csv", NbsLayout())
    assert "表头" in e.value.zh
    with pytest.raises(InvalidInput):
        reshape(GOOD.replace("2023年", "去年").encode("gbk"), "x.csv", NbsLayout())
    with pytest.raises(InvalidInput):
        reshape("地区,2024年\n四川省,1\n".encode(), "x.csv", NbsLayout())  # no 指标 line


def test_empty_and_footer_handling() -> None:
    text = GOOD.replace("四川省,1.5,2", "四川省,,2\n重庆市,3,\n注：说明，\n　　　2.第二条说明")
    out = reshape(text.encode("gb18030"), "x.csv", NbsLayout())
    assert out.table.num_rows == 2 and out.empty_cells == 2
    assert out.notes == ["注：说明，", "2.第二条说明", "数据来源：国家统计局"]
