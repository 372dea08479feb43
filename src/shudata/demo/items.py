"""Helpers that write information items (信息项) for the demo entries.

>>> [i.name for i in period_items("地区", ["2024年", "2023年"], "地区生产总值（亿元）")]
['地区', '2024年', '2023年']
>>> item("公民身份号码", "C", 18).length
18
"""

from __future__ import annotations

import pyarrow as pa

from shudata.catalog.schemas import DataType, InformationItem


def item(name: str, data_type: str = "C", length: int | None = None, description: str | None = None
         ) -> InformationItem:
    return InformationItem(name=name, data_type=DataType(data_type), length=length, description=description)


def years(first: int, last: int) -> list[str]:
    """Year columns as NBS exports name them, newest first.

    >>> years(2020, 2018)
    ['2020年', '2019年', '2018年']
    """
    return [f"{y}年" for y in range(first, last - 1, -1)]


def months(first: tuple[int, int], count: int) -> list[str]:
    """``count`` month columns going back from ``first`` (year, month), NBS style.

    >>> months((2020, 2), 3)
    ['2020年2月', '2020年1月', '2019年12月']
    """
    year, month = first
    out = []
    for _ in range(count):
        out.append(f"{year}年{month}月")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def period_items(key: str, periods: list[str], meaning: str, key_meaning: str = "省级行政区") -> list[InformationItem]:
    """A wide NBS table: one text key column, then one numeric column per period."""
    return [item(key, "C", 40, key_meaning)] + [item(p, "N", 16, f"{p}{meaning}") for p in periods]


ARROW_LETTERS = {"string": "C", "large_string": "C", "date32[day]": "D", "double": "N", "int64": "I",
                 "bool": "L", "timestamp[us]": "T"}


def table_items(table: pa.Table, lengths: dict[str, int], descriptions: dict[str, str]) -> list[InformationItem]:
    """Items for a generated table: the letter follows the Arrow type; text lengths come from
    ``lengths`` (else the longest value)."""
    out = []
    for f in table.schema:
        letter = ARROW_LETTERS.get(str(f.type), "C")
        length = lengths.get(f.name)
        if length is None and letter == "C":
            values = [v for v in table.column(f.name).to_pylist() if v]
            length = max((len(v) for v in values), default=1)
        out.append(item(f.name, letter, length, descriptions.get(f.name)))
    return out
