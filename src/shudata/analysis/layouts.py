"""Statistical export layouts reshaped to long form (indicator, region, period, value, unit).

A resource declares its layout once (``NbsLayout`` for the exports of the National Bureau of
Statistics, ``TableLayout`` for an ordinary table with time columns, such as hourly monitoring
readings); ``reshape`` turns the file into one row per published cell, with the file row and
column each value came from. Empty cells are "no data" and produce no row; a cell that is neither
empty nor a number is refused with its position, never dropped.

An NBS export has title lines (``数据库：…``, ``指标：…`` or ``地区：…``, ``时间：…``), one header row
whose first cell says what the rows are (``地区`` regions, ``指标`` indicators, ``时间`` or empty:
periods), periods running newest first, and a footer of notes (``注：…``, continuation lines, quoted
multi-line notes) ending with ``数据来源：国家统计局``:

>>> text = "数据库：分省年度数据\\n指标：地区生产总值(亿元)\\n时间：最近2年\\n地区,2024年,2023年\\n"
>>> text += "四川省,64697.0,60132.9\\n重庆市,,30145.8\\n注：2023年为修订数。\\n数据来源：国家统计局\\n"
>>> out = reshape(text.encode("gbk"), "gdp.csv", NbsLayout())
>>> [(r["indicator"], r["unit"], r["region_code"], r["period"], r["value"]) for r in out.table.to_pylist()]
... # doctest: +NORMALIZE_WHITESPACE
[('地区生产总值', '亿元', '510000', '2024', 64697.0), ('地区生产总值', '亿元', '510000', '2023', 60132.9),
 ('地区生产总值', '亿元', '500000', '2023', 30145.8)]
>>> out.notes, out.empty_cells
(['注：2023年为修订数。', '数据来源：国家统计局'], 1)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from shudata.core.errors import InvalidInput
from shudata.standards.geo_columns import region_candidates
from shudata.standards.regions import name_of

NATIONAL_CODE = "000000"  # NBS's code for 全国
NATIONAL_NAME = "全国"

LONG_SCHEMA = pa.schema([
    ("indicator", pa.string()),
    ("unit", pa.string()),
    ("region", pa.string()),
    ("region_code", pa.string()),
    ("site", pa.string()),
    ("frequency", pa.string()),  # 年 季 月 日 时
    ("period", pa.string()),  # 2024 | 2024Q1 | 2024-03 | 2024-03-05 | 2024-03-05T08
    ("period_start", pa.timestamp("s")),
    ("value", pa.float64()),
    ("source_row", pa.int32()),  # 1-based row of the file (a CSV's physical line)
    ("source_column", pa.string()),  # the header text of the value's column
])

Cell = str | float | int | None
_COLON = re.compile(r"^\s*([^：:]{1,12})[：:](.*)$")
_UNIT = re.compile(r"^(?P<name>.+?)[(（](?P<unit>[^()（）]+)[)）]\s*$")
_YEAR = re.compile(r"^(\d{4})年?$")
_MONTH = re.compile(r"^(\d{4})年(\d{1,2})月$|^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})年第?([一二三四1-4])季度?$|^(\d{4})Q([1-4])$")
_QN = {"一": 1, "二": 2, "三": 3, "四": 4}
_FOOTER = ("注", "数据来源", "资料来源", "说明")


class NbsLayout(BaseModel):
    """The layout of an NBS (国家数据) export: the declaration a resource carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["nbs"] = "nbs"
    region_level: Literal["province", "city"] = "province"  # how to read region names in rows
    region: str | None = Field(None, description="地区 of a file without a region dimension (default 全国)")
    indicator: str | None = Field(None, description="指标 when the title has none")
    units: dict[str, str] = Field(default_factory=dict, description="unit per indicator when the label has none")


class ValueColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    indicator: str
    unit: str | None = None
    site: str | None = None  # the monitoring site this column measures at (several sites side by side)


class TableLayout(BaseModel):
    """An ordinary table (header row, one reading per row) with time columns and value columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["table"] = "table"
    date: str | None = None  # a YYYYMMDD / YYYY-MM-DD column
    year: str | None = None
    month: str | None = None
    day: str | None = None
    hour: str | None = None
    values: dict[str, ValueColumn]
    region: str  # the region every row belongs to (name or code)
    site: str | None = None  # a monitoring-site column, kept as a dimension
    missing: tuple[str, ...] = ("", "NA", "NaN", "nan", "—", "-", "null", "NULL")
    drop_duplicate_rows: bool = True  # the same reading scraped twice is one reading


Layout = Annotated[NbsLayout | TableLayout, Field(discriminator="kind")]


@dataclass
class Reshaped:
    table: pa.Table
    meta: dict[str, str] = field(default_factory=dict)  # 数据库 / 指标 / 地区 / 时间 title lines
    notes: list[str] = field(default_factory=list)  # footer lines, in order
    empty_cells: int = 0  # cells without data (no row made)
    duplicate_rows: int = 0  # exact duplicate rows left out (TableLayout.drop_duplicate_rows)


def _bad(zh: str, en: str, **details: Any) -> InvalidInput:
    return InvalidInput(zh, en, code="analysis_layout_mismatch", details=details)


# ---------------------------------------------------------------- reading rows

def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise _bad("文件既不是 UTF-8 也不是 GBK/GB18030 编码，请另存为 UTF-8 后再上传",
               "The file is neither UTF-8 nor GBK/GB18030; save it as UTF-8 and upload again")


def read_rows(data: bytes, name: str) -> list[tuple[int, list[Cell]]]:
    """(1-based row number, cells) of a CSV or XLS/XLSX file, trailing empty cells removed."""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        rows = _xls_rows(data)
    elif data[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(data)
    else:
        reader = csv.reader(io.StringIO(decode(data), newline=""))
        rows = []
        start = 1
        for rec in reader:
            rows.append((start, list[Cell](rec)))
            start = reader.line_num + 1
    out = []
    for n, raw in rows:
        cells = [c.strip() if isinstance(c, str) else c for c in raw]
        while cells and cells[-1] in ("", None):
            cells.pop()
        out.append((n, cells))
    return out


def _xls_rows(data: bytes) -> list[tuple[int, list[Cell]]]:
    import xlrd  # noqa: PLC0415 - heavy reader used by one format

    sheet = xlrd.open_workbook(file_contents=data).sheet_by_index(0)
    return [(r + 1, [sheet.cell_value(r, c) for c in range(sheet.ncols)]) for r in range(sheet.nrows)]


def _xlsx_rows(data: bytes) -> list[tuple[int, list[Cell]]]:
    import openpyxl  # noqa: PLC0415 - heavy reader used by one format

    ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    return [(i, [c if isinstance(c, str | int | float) else None for c in row])
            for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]


# ---------------------------------------------------------------- labels

def split_unit(label: str) -> tuple[str, str | None]:
    """An NBS label's name and unit: the last parenthesised group.

    >>> split_unit("人口数(人口抽样调查)(人)"), split_unit("居民消费价格指数(上年同月=100)")
    (('人口数(人口抽样调查)', '人'), ('居民消费价格指数', '上年同月=100'))
    >>> split_unit("货币和准货币(M2)供应量期末值(亿元)"), split_unit("社会消费品零售总额")
    (('货币和准货币(M2)供应量期末值', '亿元'), ('社会消费品零售总额', None))
    """
    m = _UNIT.match(label.strip())
    if m is None:
        return label.strip(), None
    return m["name"].strip(), m["unit"].strip()


def parse_period(text: str) -> tuple[str, str, dt.datetime] | None:
    """(frequency, canonical period, start) of an NBS period label, or None.

    >>> parse_period("2024年"), parse_period("2020年3月")[:2], parse_period("2020年第一季度")[:2]
    (('年', '2024', datetime.datetime(2024, 1, 1, 0, 0)), ('月', '2020-03'), ('季', '2020Q1'))
    """
    s = str(text).strip()
    if m := _YEAR.match(s):
        y = int(m[1])
        return "年", f"{y}", dt.datetime(y, 1, 1)
    if m := _MONTH.match(s):
        y, mo = int(m[1] or m[3]), int(m[2] or m[4])
        if 1 <= mo <= 12:
            return "月", f"{y}-{mo:02d}", dt.datetime(y, mo, 1)
    if m := _QUARTER.match(s):
        y = int(m[1] or m[3])
        q_raw = m[2] or m[4]
        q = _QN.get(q_raw) or int(q_raw)
        return "季", f"{y}Q{q}", dt.datetime(y, 3 * q - 2, 1)
    return None


def region_code(name: str, level: str = "province") -> str | None:
    """GB/T 2260 code of a region name (全国 → 000000); for ``city``, a municipality's province code.

    >>> region_code("四川省"), region_code("吉林"), region_code("吉林", "city"), region_code("北京", "city")
    ('510000', '220000', '220200', '110000')
    """
    if name.strip() in (NATIONAL_NAME, "中国", "全国合计"):
        return NATIONAL_CODE
    cands = region_candidates(name)
    if not cands:
        return None
    provinces = [c for c in cands if c.endswith("0000")]
    others = [c for c in cands if not c.endswith("0000")]
    pick = (provinces or others) if level == "province" else (others or provinces)
    return pick[0] if len(pick) == 1 else None


def _number(cell: Cell) -> float | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        return float(cell)
    try:
        return float(str(cell).replace(",", ""))
    except ValueError:
        return None


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


# ---------------------------------------------------------------- NBS


def _is_footer(first: str) -> bool:
    return first.startswith(_FOOTER) or first.startswith(("\u3000", "　"))


def reshape_nbs(rows: Sequence[tuple[int, list[Cell]]], layout: NbsLayout) -> Reshaped:
    meta: dict[str, str] = {}
    header_at = None
    for i, (_, cells) in enumerate(rows):
        texts = [_text(c) for c in cells]
        non_empty = [t for t in texts if t]
        if len(non_empty) == 1 and (m := _COLON.match(texts[0])):
            meta[m[1].strip()] = m[2].strip()
            continue
        if len(texts) >= 2 and texts[0] in ("地区", "指标", "时间", "") and \
                sum(1 for t in texts[1:] if t) >= 1:
            header_at = i
            break
    if header_at is None:
        raise _bad("没有找到表头行（第一格为“地区”“指标”或“时间”的行），这不像国家统计局的导出文件",
                   "No header row (first cell 地区, 指标 or 时间): this does not look like an NBS export")
    hdr_line, hdr = rows[header_at]
    corner = _text(hdr[0])
    labels = [_text(c) for c in hdr[1:]]
    rows_are = {"地区": "region", "指标": "indicator"}.get(corner, "period")
    # the column dimension is periods unless the rows are periods
    col_periods = [parse_period(t) for t in labels] if rows_are != "period" else []
    if rows_are != "period":
        bad = [t for t, p in zip(labels, col_periods, strict=True) if p is None and t]
        if bad:
            raise _bad(f"表头中的“{bad[0]}”不是可识别的时期（应为 2024年、2024年3月或 2024年第一季度）",
                       f"Header cell {bad[0]!r} is not a period (2024年, 2024年3月, 2024年第一季度)",
                       row=hdr_line, value=bad[0])
    title_indicator = layout.indicator or meta.get("指标")
    title_region = layout.region or meta.get("地区") or NATIONAL_NAME
    out: dict[str, list[Any]] = {f.name: [] for f in LONG_SCHEMA}
    notes: list[str] = []
    empty = 0
    in_footer = False
    for line, cells in rows[header_at + 1:]:
        texts = [_text(c) for c in cells]
        if not any(texts):
            continue
        first = texts[0]
        if in_footer or _is_footer(first) or (len([t for t in texts if t]) == 1 and _COLON.match(first)
                                              and not any(texts[1:])):
            in_footer = True
            notes.append("\n".join(t for t in texts if t))
            continue
        if not first:
            raise _bad(f"第 {line} 行第一格为空，无法确定它属于哪个{corner or '时期'}",
                       f"Row {line} has an empty first cell", row=line)
        if len(texts) > len(labels) + 1:
            raise _bad(f"第 {line} 行的值“{texts[-1]}”超出表头的列数",
                       f"Row {line}: value {texts[-1]!r} beyond the header", row=line, column=len(texts))
        for j in range(1, len(labels) + 1):
            cell = cells[j] if j < len(cells) else None
            t = texts[j] if j < len(texts) else ""
            if t == "":
                empty += 1
                continue
            value = _number(cell)
            if value is None:
                raise _bad(f"第 {line} 行“{labels[j - 1]}”列的“{t}”不是数字（空白表示无数据）",
                           f"Row {line}, column {labels[j - 1]!r}: {t!r} is not a number",
                           row=line, column=labels[j - 1], value=t)
            if rows_are == "period":
                period = parse_period(first)
                if period is None:
                    raise _bad(f"第 {line} 行的“{first}”不是可识别的时期", f"Row {line}: {first!r} is not a period",
                               row=line, value=first)
                label, region = labels[j - 1], title_region
            else:
                period = col_periods[j - 1]
                if period is None:
                    raise _bad(f"第 {line} 行有值但所在列的表头为空", f"Row {line}: a value under an empty header",
                               row=line, column=j + 1)
                if rows_are == "region":
                    label, region = title_indicator or "", first
                else:
                    label, region = first, title_region
            if not label:
                raise _bad("文件没有“指标：”标题行，请在版式中指定指标名称",
                           "No 指标 title line: give the indicator in the layout")
            name, unit = split_unit(label)
            unit = unit or layout.units.get(name)
            code = region_code(region, layout.region_level)
            freq, canon, start = period
            out["indicator"].append(name)
            out["unit"].append(unit)
            out["region"].append(name_of(code) or region if code and code != NATIONAL_CODE else region)
            out["region_code"].append(code)
            out["site"].append(None)
            out["frequency"].append(freq)
            out["period"].append(canon)
            out["period_start"].append(start)
            out["value"].append(value)
            out["source_row"].append(line)
            out["source_column"].append(labels[j - 1])
    return Reshaped(pa.Table.from_pydict(out, schema=LONG_SCHEMA), meta, notes, empty)


# ---------------------------------------------------------------- plain tables


def reshape_table(rows: Sequence[tuple[int, list[Cell]]], layout: TableLayout) -> Reshaped:
    if not rows:
        raise _bad("文件为空", "The file is empty")
    _, hdr = rows[0]
    header = [_text(c) for c in hdr]
    index = {h: i for i, h in enumerate(header)}
    wanted = [c for c in (layout.date, layout.year, layout.month, layout.day, layout.hour, layout.site,
                          *layout.values) if c]
    missing_cols = [c for c in wanted if c not in index]
    if missing_cols:
        raise _bad(f"文件缺少版式声明的列：{'、'.join(missing_cols)}", f"Columns missing: {', '.join(missing_cols)}",
                   columns=missing_cols)
    code = region_code(layout.region, "city") or (layout.region if layout.region.isdigit() else None)
    region = (name_of(code) if code and code != NATIONAL_CODE else None) or layout.region
    missing = set(layout.missing)
    out: dict[str, list[Any]] = {f.name: [] for f in LONG_SCHEMA}
    seen: set[tuple[str, ...]] = set()
    empty = dups = 0
    for line, cells in rows[1:]:
        texts = [_text(c) for c in cells] + [""] * (len(header) - len(cells))
        if not any(texts):
            continue
        key = tuple(texts)
        if layout.drop_duplicate_rows:
            if key in seen:
                dups += 1
                continue
            seen.add(key)
        freq, period, start = _row_time(texts, index, layout, line)
        site = texts[index[layout.site]] if layout.site else None
        for col, spec in layout.values.items():
            t = texts[index[col]]
            if t in missing:
                empty += 1
                continue
            value = _number(t)
            if value is None:
                raise _bad(f"第 {line} 行“{col}”列的“{t}”不是数字",
                           f"Row {line}, column {col!r}: {t!r} is not a number", row=line, column=col, value=t)
            out["indicator"].append(spec.indicator)
            out["unit"].append(spec.unit)
            out["region"].append(region)
            out["region_code"].append(code)
            out["site"].append(spec.site or site or None)
            out["frequency"].append(freq)
            out["period"].append(period)
            out["period_start"].append(start)
            out["value"].append(value)
            out["source_row"].append(line)
            out["source_column"].append(col)
    return Reshaped(pa.Table.from_pydict(out, schema=LONG_SCHEMA), {}, [], empty, dups)


def _row_time(texts: list[str], index: dict[str, int], layout: TableLayout,
              line: int) -> tuple[str, str, dt.datetime]:
    try:
        if layout.date:
            d = texts[index[layout.date]].replace("-", "").replace("/", "")
            y, mo, day = int(d[:4]), int(d[4:6]), int(d[6:8])
        else:
            y = int(texts[index[layout.year or ""]])
            mo = int(texts[index[layout.month]]) if layout.month else 1
            day = int(texts[index[layout.day]]) if layout.day else 1
        start = dt.datetime(y, mo, day)
        if layout.hour:
            h = int(texts[index[layout.hour]])
            start = start.replace(hour=h)
            return "时", start.strftime("%Y-%m-%dT%H"), start
    except (ValueError, KeyError, IndexError) as e:
        raise _bad(f"第 {line} 行的日期或时刻无法识别", f"Row {line}: unreadable date or hour", row=line) from e
    if layout.day or layout.date:
        return "日", start.strftime("%Y-%m-%d"), start
    if layout.month:
        return "月", start.strftime("%Y-%m"), start
    return "年", str(y), start


def reshape(data: bytes, name: str, layout: NbsLayout | TableLayout) -> Reshaped:
    """Reshape one file (CSV in UTF-8/GBK, XLS or XLSX) to long form by its declared layout."""
    rows = read_rows(data, name)
    if isinstance(layout, NbsLayout):
        return reshape_nbs(rows, layout)
    return reshape_table(rows, layout)
