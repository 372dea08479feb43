"""Column types: infer an information item's type from sample text, and convert text
columns to typed Arrow arrays in bulk (pyarrow compute, no per-row Python).

Data types are the national catalog letters (C 字符 N 数值 Y 货币 D 日期 T 日期时间
L 逻辑 M 备注 G 通用 B 二进制 I 整型 F 浮点).

>>> infer_type(["1", "2", "30"], "人数")
('I', 2, None)
>>> infer_type(["4111010001", "4111010002"], "学校标识码")
('C', 10, None)
>>> infer_type(["2023/01/05", ""], "日期")
('D', 10, '%Y/%m/%d')
>>> infer_type(["1.5", "-2"], "值")
('N', 3, None)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

ARROW_TYPES: dict[str, pa.DataType] = {
    "C": pa.string(), "M": pa.string(), "G": pa.string(), "B": pa.string(),
    "N": pa.float64(), "Y": pa.float64(), "F": pa.float64(), "I": pa.int64(),
    "D": pa.date32(), "T": pa.timestamp("us"), "L": pa.bool_(),
}
TYPE_NAMES = {"C": "字符型", "N": "数值型", "Y": "货币型", "D": "日期型", "T": "日期时间型", "L": "逻辑型",
              "M": "备注型", "G": "通用型", "B": "二进制", "I": "整型", "F": "浮点型"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
TRUE_WORDS = ("true", "t", "yes", "y", "是", "真")
FALSE_WORDS = ("false", "f", "no", "n", "否", "假")
CODE_HINTS = ("码", "代码", "编号", "号码", "证号", "账号", "电话", "手机", "邮编", "id", "ID", "No")
_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_PATTERNS = {
    "%Y-%m-%d": r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y/%m/%d": r"^\d{4}/\d{1,2}/\d{1,2}$",
    "%Y%m%d": r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$", "%Y年%m月%d日": r"^\d{4}年\d{1,2}月\d{1,2}日$",
    "%Y.%m.%d": r"^\d{4}\.\d{1,2}\.\d{1,2}$",
    "%Y-%m-%d %H:%M:%S": r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}$",
    "%Y/%m/%d %H:%M:%S": r"^\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}:\d{2}$",
    "%Y-%m-%dT%H:%M:%S": r"^\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{2}:\d{2}$",
    "%Y-%m-%d %H:%M": r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}$",
}


@dataclass(frozen=True)
class ColumnSpec:
    """How one source column becomes one stored column."""

    source: str  # name in the file
    name: str  # stored name (the information item's name)
    data_type: str  # catalog letter
    length: int | None = None  # maximum text length to enforce (C/M)
    fmt: str | None = None  # strptime format for D/T

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES.get(self.data_type, pa.string())


def _looks_like_code(name: str, values: Sequence[str]) -> bool:
    if any(h in name for h in CODE_HINTS):
        return True
    if any(len(v) > 1 and v.lstrip("+-").startswith("0") for v in values):
        return True
    lengths = {len(v) for v in values}
    return len(values) >= 2 and len(lengths) == 1 and next(iter(lengths)) >= 8


def date_format(values: Sequence[str], formats: Sequence[str]) -> str | None:
    """The first format every value matches, or ``None``.

    >>> date_format(["2023年1月5日"], DATE_FORMATS)
    '%Y年%m月%d日'
    """
    for fmt in formats:
        pat = re.compile(_DATE_PATTERNS[fmt])
        if all(pat.match(v) for v in values):
            return fmt
    return None


def infer_type(sample: Sequence[str | None], name: str = "") -> tuple[str, int | None, str | None]:
    """``(data_type, length, format)`` for a column from sample values (empty values ignored)."""
    values = [v.strip() for v in sample if v is not None and v.strip() != ""]
    length = max((len(v) for v in values), default=0) or None
    if not values:
        return "C", None, None
    if all(_INT_RE.match(v) for v in values):
        if _looks_like_code(name, values) or any(len(v.lstrip("+-")) > 18 for v in values):
            return "C", length, None
        return "I", length, None
    if all(_NUM_RE.match(v) for v in values):
        return "N", length, None
    if fmt := date_format(values, DATE_FORMATS):
        return "D", length, fmt
    if fmt := date_format(values, DATETIME_FORMATS):
        return "T", length, fmt
    if all(v.lower() in TRUE_WORDS + FALSE_WORDS for v in values) and len(values) > 1:
        return "L", length, None
    return ("M" if (length or 0) > 500 else "C"), length, None


class ConversionError(Exception):
    """A value that does not fit its column's type or length (``row`` is 0-based in the array)."""

    def __init__(self, column: str, row: int, value: str, data_type: str, length: int | None = None) -> None:
        super().__init__(column, row, value, data_type, length)
        self.column, self.row, self.value, self.data_type, self.length = column, row, value, data_type, length


def _first_bad(arr: pa.Array, ok: pa.Array) -> int:
    bad = pc.and_(pc.is_valid(arr), pc.invert(pc.fill_null(ok, False)))
    idx = pc.index(bad, True).as_py()
    return int(idx) if idx is not None else 0


def convert(arr: pa.Array | pa.ChunkedArray, spec: ColumnSpec) -> pa.Array | pa.ChunkedArray:
    """Convert a text column to ``spec``'s Arrow type; raise :class:`ConversionError` on the first bad value
    (dates and times outside the years 1-9999, which no reader of the version could hold, included)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    out = _convert(arr, spec)
    if spec.data_type in ("D", "T") and (i := first_out_of_range(out)) is not None:
        raise ConversionError(spec.source, i, shown_value(arr, i), spec.data_type)
    return out


# The dates and times every reader of a version can hold (Python's datetime: years 1 to 9999).
_FIRST, _LAST = dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)


def first_out_of_range(arr: pa.Array | pa.ChunkedArray) -> int | None:
    """The index of the first date or time outside the years 1-9999 (DuckDB's ``infinity``
    included), ``None`` when there is none or ``arr`` holds neither.

    >>> first_out_of_range(pa.array([0, 2**63 - 1], pa.timestamp("us"))), first_out_of_range(pa.array([1]))
    (1, None)
    >>> first_out_of_range(pa.array([-719163, 0], pa.date32()))  # the day before 0001-01-01
    0
    """
    kind = arr.type
    if pa.types.is_timestamp(kind) and kind.unit != "ns":  # nanoseconds span 1677-2262: all fit
        ints, bound_type = pa.int64(), pa.timestamp(kind.unit)
        low, high = (pa.scalar(v, bound_type).cast(ints).as_py() for v in (_FIRST, _LAST))
    elif pa.types.is_date32(kind) or pa.types.is_date64(kind):
        ints = pa.int32() if pa.types.is_date32(kind) else pa.int64()
        low, high = (pa.scalar(v.date(), kind).cast(ints).as_py() for v in (_FIRST, _LAST))
    else:
        return None
    values = arr.cast(ints)
    outside = pc.or_(pc.less(values, low), pc.greater(values, high))
    if not pc.any(outside).as_py():
        return None
    index = pc.index(pc.fill_null(outside, False), True).as_py()
    return int(index) if index is not None else None


def shown_value(arr: pa.Array, i: int) -> str:
    """Value ``i`` as text for a message (``±infinity`` for a date or time no datetime holds).

    >>> shown_value(pa.array([2**63 - 1], pa.timestamp("us")), 0), shown_value(pa.array(["2024-01-01"]), 0)
    ('infinity', '2024-01-01')
    """
    shown = str(pc.cast(arr.slice(i, 1), pa.string())[0].as_py())
    if shown.startswith("<value out of range: "):  # Arrow's text for such a value
        return "-infinity" if shown[21:].startswith("-") else "infinity"
    return shown


def _convert(arr: pa.Array, spec: ColumnSpec) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), spec.arrow_type)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return _cast_typed(arr, spec)
    t = spec.data_type
    if t in ("C", "M", "G", "B"):
        if spec.length:
            too_long = pc.greater(pc.utf8_length(arr), spec.length)
            if pc.any(too_long).as_py():
                i = _first_bad(arr, pc.invert(too_long))
                raise ConversionError(spec.source, i, str(arr[i].as_py()), t, spec.length)
        return arr
    text = pc.utf8_trim_whitespace(arr)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        return _convert_text(text, spec)
    except (pa.ArrowInvalid, ValueError) as exc:
        i = _first_bad(text, _valid_mask(text, spec))
        raise ConversionError(spec.source, i, str(text[i].as_py()), t) from exc


def _convert_text(text: pa.Array, spec: ColumnSpec) -> pa.Array:
    t = spec.data_type
    if t in ("N", "Y", "F"):
        return pc.cast(pc.replace_substring(text, ",", ""), pa.float64())
    if t == "I":
        return pc.cast(text, pa.int64())
    if t in ("D", "T"):
        fmt = spec.fmt or ("%Y-%m-%d" if t == "D" else "%Y-%m-%d %H:%M:%S")
        ts = pc.strptime(text, format=fmt, unit="us")
        return pc.cast(ts, pa.date32()) if t == "D" else ts
    if t == "L":
        low = pc.utf8_lower(text)
        is_true = pc.is_in(low, value_set=pa.array(TRUE_WORDS))
        is_false = pc.is_in(low, value_set=pa.array(FALSE_WORDS))
        if pc.any(pc.and_(pc.is_valid(low), pc.invert(pc.or_(is_true, is_false)))).as_py():
            raise ValueError("not a boolean")
        return pc.if_else(pc.is_valid(low), is_true, pa.scalar(None, pa.bool_()))
    return text


def _valid_mask(text: pa.Array, spec: ColumnSpec) -> pa.Array:
    t = spec.data_type
    if t in ("N", "Y", "F"):
        return pc.match_substring_regex(pc.replace_substring(text, ",", ""), _NUM_RE.pattern)
    if t == "I":
        return pc.match_substring_regex(text, _INT_RE.pattern)
    if t == "L":
        return pc.is_in(pc.utf8_lower(text), value_set=pa.array(TRUE_WORDS + FALSE_WORDS))
    if t in ("D", "T"):
        fmt = spec.fmt or ("%Y-%m-%d" if t == "D" else "%Y-%m-%d %H:%M:%S")
        ts = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
        return pc.is_valid(ts)
    return pc.is_valid(text)


def _cast_typed(arr: pa.Array, spec: ColumnSpec) -> pa.Array:
    """Typed input (Parquet, XLSX numbers): cast, or stringify for text items."""
    if spec.data_type in ("C", "M", "G", "B"):
        out = pc.cast(arr, pa.string())
        return convert(out, spec)
    try:
        return pc.cast(arr, spec.arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return convert(pc.cast(arr, pa.string()), spec)


def describe(spec_type: str) -> str:
    """The letter and its Chinese name.

    >>> describe("N")
    'N 数值型'
    """
    return f"{spec_type} {TYPE_NAMES.get(spec_type, spec_type)}"
