"""A real-looking, messy enterprise-registration workbook (企业登记名录), for tests of placeholders,
amounts with units and currencies, mixed date forms, and for browser tests.

It imitates the 1993 registration export of issue #11: a title row above the header, 1,399
rows, 企业类型 mostly ``N/A``, 注册资金 mixing 万元人民币 / 万美元 / 万港元 / bare numbers, 注册日期
mixing real date cells, 1993年1月5日, 1993.1.5, 19930105 and Excel serial numbers. Names come from
Faker (``zh_CN``, seeded), so two calls with the same seed write the same rows.

XLS (BIFF8, as registries export) when ``xlwt`` is installed (a dev extra), XLSX otherwise:

>>> import tempfile, pathlib
>>> m = write_registration_workbook(pathlib.Path(tempfile.mkdtemp()) / "企业登记", rows=50, seed=1)
>>> m.path.suffix in (".xls", ".xlsx"), m.rows, len(m.amounts), m.header
(True, 50, 50, ['企业名称', '注册号', '统一社会信用代码', '法定代表人', '注册资金', '企业类型', '注册日期', '经营范围'])
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = ["企业名称", "注册号", "统一社会信用代码", "法定代表人", "注册资金", "企业类型", "注册日期", "经营范围"]
TITLE = "1993年度企业登记名录（摘录）"
TYPES = ["有限责任公司", "股份有限公司", "全民所有制", "集体所有制", "中外合资经营企业", "个人独资企业"]
SCOPES = ["五金交电", "日用百货", "针纺织品", "建筑材料", "农副产品收购", "机械设备维修", "电子产品", "服装加工",
          "餐饮服务", "房地产开发", "技术咨询", "进出口贸易", "食品加工", "化工原料（不含危险品）", "印刷", "汽车配件"]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
SERIAL_EPOCH = dt.date(1899, 12, 30)  # Excel's 1900 date system, for serials above 60


@dataclass
class MessyWorkbook:
    """What was written, so tests can check what the platform makes of it."""

    path: Path
    rows: int
    header: list[str]
    title_rows: int
    na_types: int  # 企业类型 cells written as a placeholder (N/A and friends)
    amounts: list[tuple[float | None, str | None, str]] = field(default_factory=list)  # (万, ISO, raw) per row
    dates: list[tuple[dt.date | None, Any]] = field(default_factory=list)  # (date, raw cell) per row
    unparsable_amounts: int = 0
    blank_amounts: int = 0


def uscc(rng: random.Random) -> str:
    """A unified social credit code (GB 32100-2015) with a valid check character."""
    body = "91" + "510100" + "".join(rng.choice(USCC_CHARS) for _ in range(9))
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_CHARS[(31 - total % 31) % 31]


def _amount(rng: random.Random, i: int) -> tuple[str, float | None, str | None]:
    n = rng.choice([3, 5, 10, 20, 30, 50, 80, 100, 120, 200, 300, 500, 1000])
    k = i % 20
    if k < 7:
        return f"{n}万元人民币", float(n), "CNY"
    if k < 10:
        return f"{n}万美元", float(n), "USD"
    if k < 12:
        return f"{n}万港元", float(n), "HKD"
    if k < 15:
        return str(n), float(n), "CNY"  # bare number: 万元 in this register
    if k == 15:
        return f"人民币{n}万元", float(n), "CNY"
    if k == 16:
        return {0: ("壹佰万元", 100.0, "CNY"), 1: ("伍拾万元", 50.0, "CNY"), 2: ("贰仟万元", 2000.0, "CNY")}[i % 3]
    if k == 17:
        full = str(n).translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
        return f"{full}．５万元", n + 0.5, "CNY"
    if k == 18:
        return (f"{n / 100:g}亿元", float(n * 100), "CNY") if i % 40 == 18 else ("", None, None)
    return ("约" + str(n) + "万", None, None) if i % 60 == 19 else (f"{n * 10000:,}元", float(n), "CNY")


def _date(rng: random.Random, i: int) -> tuple[Any, dt.date]:
    d = dt.date(1993, 1, 1) + dt.timedelta(days=rng.randrange(365))
    form = i % 6
    if form == 0:
        return d, d  # a real date cell
    if form == 1:
        return f"{d.year}年{d.month}月{d.day}日", d
    if form == 2:
        return f"{d.year}.{d.month}.{d.day}", d
    if form == 3:
        return d.strftime("%Y%m%d"), d
    if form == 4:
        return (d - SERIAL_EPOCH).days, d  # an Excel serial number in a number cell
    return d.isoformat(), d


def _rows(rows: int, seed: int) -> tuple[list[list[Any]], MessyWorkbook]:
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    info = MessyWorkbook(path=Path(), rows=rows, header=list(HEADER), title_rows=1, na_types=0)
    out = []
    for i in range(rows):
        raw, amount, cur = _amount(rng, i)
        cell, day = _date(rng, i)
        kind = rng.choice(TYPES) if rng.random() < 0.075 else rng.choice(["N/A"] * 18 + ["NA", "无", "—"])
        info.na_types += kind not in TYPES
        info.amounts.append((amount, cur, raw))
        info.dates.append((day, cell))
        info.unparsable_amounts += raw != "" and amount is None
        info.blank_amounts += raw == ""
        scope = "、".join(rng.sample(SCOPES, rng.randint(1, 4)))
        out.append([fake.company(), str(510100000000000 + rng.randrange(10**8)), uscc(rng), fake.name(), raw, kind,
                    cell, scope + ("（依法须经批准的项目，经相关部门批准后方可开展经营活动）" if i % 7 == 0 else "")])
    return out, info


def write_registration_workbook(path: Path, rows: int = 1399, seed: int = 1993, *, xls: bool | None = None,
                                title: bool = True) -> MessyWorkbook:
    """Write the workbook at ``path`` (the suffix is set: .xls, or .xlsx without xlwt or with
    ``xls=False``) and return what it holds."""
    data, info = _rows(rows, seed)
    info.title_rows = 1 if title else 0
    if xls is None:
        try:
            import xlwt  # noqa: F401
            xls = True
        except ImportError:
            xls = False
    path = path.with_suffix(".xls" if xls else ".xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    (_write_xls if xls else _write_xlsx)(path, data, title)
    info.path = path
    return info


def _write_xls(path: Path, data: list[list[Any]], title: bool) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("企业登记")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    r0 = 0
    if title:
        ws.write(0, 0, TITLE)
        r0 = 1
    for j, h in enumerate(HEADER):
        ws.write(r0, j, h)
    for i, row in enumerate(data, start=r0 + 1):
        for j, v in enumerate(row):
            if isinstance(v, dt.date):
                ws.write(i, j, dt.datetime(v.year, v.month, v.day), date_style)
            else:
                ws.write(i, j, v)
    wb.save(str(path))


def _write_xlsx(path: Path, data: list[list[Any]], title: bool) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "企业登记"
    if title:
        ws.append([TITLE])
    ws.append(HEADER)
    for row in data:
        ws.append(row)
    wb.save(path)
