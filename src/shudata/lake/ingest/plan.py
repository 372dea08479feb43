"""Match a file's columns to the entry's information items (名称、类型、长度), or propose
items from the file when the entry has none yet.

>>> from pathlib import Path
>>> info = SourceInfo(path=Path("x.csv"), name="x.csv", format="csv", columns=["地区", "GDP（亿元）"],
...                   head_rows=[], sample=[["成都", "2.5"], ["绵阳", "3"]])
>>> [(s.source, s.name, s.data_type) for s in plan_columns(info, [
...     {"name": "地区", "data_type": "C", "length": 20}, {"name": "GDP(亿元)", "data_type": "N"}])]
[('地区', '地区', 'C'), ('GDP（亿元）', 'GDP(亿元)', 'N')]
>>> propose_items(info)[1]
{'name': 'GDP（亿元）', 'data_type': 'N', 'length': 3, 'description': None}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from shudata.core.errors import InvalidInput
from shudata.lake.ingest.rows import normalize_name
from shudata.lake.ingest.source import SourceInfo
from shudata.lake.ingest.types import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    ColumnSpec,
    ConversionError,
    convert,
    date_format,
    describe,
    infer_type,
)


def _column_sample(info: SourceInfo, i: int) -> list[str | None]:
    return [r[i] if i < len(r) else None for r in info.sample]


def propose_items(info: SourceInfo) -> list[dict[str, Any]]:
    """Information items inferred from the file: name, data type, length (for a steward to correct)."""
    out = []
    for i, name in enumerate(info.columns):
        t, length, _fmt = infer_type(_column_sample(info, i), name)
        out.append({"name": name, "data_type": t, "length": length, "description": None})
    return out


def inferred_specs(info: SourceInfo) -> list[ColumnSpec]:
    """Column specs straight from inference (an entry without information items)."""
    specs = []
    for i, name in enumerate(info.columns):
        t, _length, fmt = infer_type(_column_sample(info, i), name)
        specs.append(ColumnSpec(source=name, name=name, data_type=t, fmt=fmt))
    return specs


def _item(raw: Mapping[str, Any] | Any) -> tuple[str, str, int | None]:
    get = raw.get if isinstance(raw, Mapping) else (lambda k, d=None: getattr(raw, k, d))
    dt = get("data_type", "C")
    return str(get("name")), str(getattr(dt, "value", dt) or "C"), get("length")


def plan_columns(info: SourceInfo, items: Sequence[Mapping[str, Any] | Any]) -> list[ColumnSpec]:
    """Specs for the entry's items in their order; refuse missing, extra and mistyped columns together."""
    if not items:
        return inferred_specs(info)
    by_norm = {normalize_name(c): (i, c) for i, c in enumerate(info.columns)}
    wanted = [_item(x) for x in items]
    missing = [n for n, _, _ in wanted if normalize_name(n) not in by_norm]
    known = {normalize_name(n) for n, _, _ in wanted}
    extra = [c for c in info.columns if normalize_name(c) not in known]
    specs: list[ColumnSpec] = []
    mistyped: list[dict[str, Any]] = []
    for name, t, length in wanted:
        hit = by_norm.get(normalize_name(name))
        if hit is None:
            continue
        i, source = hit
        values = _column_sample(info, i)
        spec = ColumnSpec(source=source, name=name, data_type=t,
                          length=length if t in ("C", "M") else None, fmt=_fmt_for(t, values))
        bad = _first_mismatch(spec, values)
        if bad is not None:
            mistyped.append({"column": source, "expected": t, "value": bad})
        specs.append(spec)
    if missing or extra or mistyped:
        raise _mismatch(missing, extra, mistyped)
    return specs


def _fmt_for(t: str, values: Sequence[str | None]) -> str | None:
    vals = [v.strip() for v in values if v is not None and v.strip()]
    if t == "D":
        return date_format(vals, DATE_FORMATS) or date_format(vals, DATETIME_FORMATS)
    if t == "T":
        return date_format(vals, DATETIME_FORMATS) or date_format(vals, DATE_FORMATS)
    return None


def _first_mismatch(spec: ColumnSpec, values: Sequence[str | None]) -> str | None:
    if spec.data_type in ("C", "M", "G", "B"):
        return None  # lengths are enforced on every row while writing
    if spec.data_type in ("D", "T") and spec.fmt is None and any(v and v.strip() for v in values):
        return next(v for v in values if v and v.strip())
    try:
        convert(pa.array(list(values), pa.string()), spec)
    except ConversionError as exc:
        return exc.value
    return None


def _mismatch(missing: list[str], extra: list[str], mistyped: list[dict[str, Any]]) -> InvalidInput:
    zh, en = [], []
    if missing:
        zh.append(f"缺少列：{'、'.join(missing)}")
        en.append(f"missing columns: {', '.join(missing)}")
    if extra:
        zh.append(f"多出列：{'、'.join(extra)}")
        en.append(f"extra columns: {', '.join(extra)}")
    if mistyped:
        zh.append("类型不符：" + "；".join(f"{m['column']} 应为{describe(m['expected'])}（如“{m['value']}”）"
                                       for m in mistyped))
        en.append("mistyped columns: " + "; ".join(f"{m['column']} should be {m['expected']} (e.g. {m['value']!r})"
                                                for m in mistyped))
    return InvalidInput("文件的列与目录信息项不符。" + "。".join(zh) + "。请修改文件，或先修改目录条目的信息项",
                        "The file's columns do not match the entry's information items: " + "; ".join(en),
                        code="columns_mismatch", details={"missing": missing, "extra": extra, "mistyped": mistyped})
