"""Profile any file before it is registered: types, missing values, distinct counts, value
kinds (resident IDs, credit codes, phone numbers …), how many of them fail their check, and
suggested rules.

The file is read with the ingest readers (CSV in any Chinese encoding, XLS, XLSX, JSON,
Parquet), staged as text and profiled by the query engine in two scans. Placeholders such
as ``N/A``, ``无``, ``空`` and ``-`` count as missing (configurable).

The engine's cost of one scan grows faster than its number of aggregates (100 columns in
one statement took 38 s, 20 columns 1.6 s), so columns are profiled in groups of
``COLUMN_GROUP``; an upload with more columns than ``max_columns`` is refused before it is
staged (413), as is a file whose shape passes the upload limits.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shudata.lake.ingest import readers
from shudata.lake.ingest.limits import ReadLimits, too_large
from shudata.lake.ingest.plan import inferred_specs
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.ingest.types import ColumnSpec
from shudata.lake.parquet import parts
from shudata.quality.checks import formats as F
from shudata.quality.compile import compile_check, transpile
from shudata.quality.compile_exprs import DEFAULT_PLACEHOLDERS, Ctx, is_missing, qi, regex, text
from shudata.quality.rules import parse_rule_set
from shudata.quality.run import Target
from shudata.quality.schemas import ColumnProfile, FileProfile
from shudata.query.engines.base import Engine, Limits, TableSource

LIMITS = Limits(timeout_s=600.0)
COLUMN_GROUP = 20
THRESHOLD = 0.8  # share of present values that must look like a kind
ENUM_MAX = 100  # default: at most this many distinct values make a code list (enum) suggestion
ENUM_ROWS_PER_VALUE = 10  # … and only when every value repeats this often on average

TEXT = frozenset({"C"})
TEXT_OR_INT = frozenset({"C", "I"})


@dataclass(frozen=True)
class Kind:
    """A kind of value a column can hold.

    ``pattern`` is the loose look of a value; ``rule`` the rule that checks it; ``hints``
    column-name fragments of which one is required (``None``: any name); ``types`` the data
    types that can hold the kind: a date, timestamp, boolean or decimal column is never a
    phone number or an ID, and an integer column only holds kinds whose values are all
    digits with no leading zero (an integer keeps every digit of those). ``confirm``: the
    pattern alone is ambiguous, so the kind stands only when at most half the present values
    fail its check (a column of six-digit numbers named 代码 is a region code only when the
    codes exist; a column of 15-digit 注册号 is no list of old resident IDs), unless the column's
    name says what it holds (``trusted``: 身份证号 with many bad check digits is still an ID column).
    """

    pattern: str
    rule: dict[str, Any]
    hints: tuple[str, ...] | None = None
    types: frozenset[str] = TEXT
    confirm: bool = False
    trusted: tuple[str, ...] = ()


MOBILE_LOOSE = r"^(\+?86[ -]?)?1[3-9][0-9]([ -]?[0-9]){7,9}$"  # 10 to 12 digits: near misses count as invalid
REGION_HINTS = ("区划", "行政区", "地区", "区域", "区县", "代码", "编码", "code")

# kind -> Kind; the first kind that fits wins, so the more specific come first
KINDS: dict[str, Kind] = {
    "cn_id": Kind(r"^([0-9]{17}[0-9Xx]|[0-9]{15})$", {"type": "cn_id", "allow_15": True}, types=TEXT_OR_INT,
                  confirm=True, trusted=("身份证", "证件", "公民身份")),
    "uscc": Kind(F.USCC_RE, {"type": "uscc"}),
    "mobile": Kind(MOBILE_LOOSE, {"type": "format", "format": "mobile"}, types=TEXT_OR_INT, confirm=True),
    "landline": Kind(r"^0[0-9]{2,3}-?[0-9]{7,8}$", {"type": "format", "format": "landline"}, confirm=True),
    "email": Kind(r"^[^@ ]+@[^@ ]+$", {"type": "format", "format": "email"}, confirm=True),
    "timestamp": Kind(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[ T][0-9]{1,2}:[0-9]{2}", {"type": "date", "timestamp": True},
                      types=frozenset({"C", "T"}), confirm=True),
    "date": Kind(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$", {"type": "date"}, types=frozenset({"C", "D"}), confirm=True),
    "region_code": Kind(r"^[1-9][0-9]{5}$", {"type": "region_code"}, REGION_HINTS, TEXT_OR_INT, confirm=True),
    "postal_code": Kind(r"^[0-9]{6}$", {"type": "format", "format": "postal_code"},
                        ("邮编", "邮政", "postcode", "zip")),
    "bank_card": Kind(r"^[0-9]{16,19}$", {"type": "bank_card"}, ("卡号", "银行", "账号"), TEXT_OR_INT, confirm=True),
}
ID_KINDS = ("cn_id", "uscc", "bank_card")
KEY_HINTS = ("代码", "编码", "标识", "号", "id", "code")
NAME_HINTS = ("名称", "名字", "姓名", "name")
TIME_HINTS = ("日期", "时间", "date", "time")
NUMERIC_TYPES = ("I", "N", "F", "Y")
DATE_TYPES = ("D", "T")


def kind_fits_type(kind: str, data_type: str) -> bool:
    """Whether a column of ``data_type`` can hold values of ``kind``.

    >>> kind_fits_type("mobile", "D"), kind_fits_type("mobile", "I"), kind_fits_type("postal_code", "I")
    (False, True, False)
    >>> [k for k in KINDS if kind_fits_type(k, "N")]
    []
    """
    return data_type in KINDS[kind].types


def read_as_text(path: Path, staging: Path, name: str | None = None, *, limits: ReadLimits | None = None,
                 max_columns: int | None = None, placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS,
                 ) -> tuple[list[str], dict[str, str], int]:
    """Stage ``path`` as text columns in ``staging``; return (columns, inferred types, skipped rows).

    ``placeholders`` are read as missing first, as the ingest does, so a number column holding
    ``N/A`` is inferred as a number here too.

    Raises:
        PayloadTooLarge: the file's shape passes ``limits``, or it has more than ``max_columns``.
    """
    options = IngestOptions(missing_values=placeholders)
    info = readers.inspect(path, name or path.name, options, limits)
    if max_columns is not None and len(info.columns) > max_columns:
        readers.forget(info)
        raise too_large("too_many_columns_to_profile",
                        f"文件有 {len(info.columns)} 列，剖析最多 {max_columns} 列",
                        f"The file has {len(info.columns)} columns; profiling takes at most {max_columns}",
                        setting="profile_max_columns", limit=max_columns, found=len(info.columns))
    inferred = {s.name: s.data_type for s in inferred_specs(info)}
    specs = [ColumnSpec(source=c, name=c, data_type="C") for c in info.columns]
    readers.stage(info, specs, staging, options, limits=limits)
    return list(info.columns), inferred, 0


def _kind_sql(columns: Sequence[str], types: dict[str, str], ctx: Ctx) -> str:
    aggs = ['COUNT(*) AS "__rows"']
    for n, c in enumerate(columns):
        v = text(c, ctx)
        miss = is_missing(v, ctx)
        aggs.append(f"SUM(CASE WHEN {miss} THEN 1 ELSE 0 END) AS {qi(f'm{n}')}")
        aggs.append(f"COUNT(DISTINCT CASE WHEN NOT {miss} THEN {v} END) AS {qi(f'd{n}')}")
        for k, kind in KINDS.items():
            if not kind_fits_type(k, types.get(c, "C")):
                continue
            aggs.append(f"SUM(CASE WHEN NOT {miss} AND {regex(f'TRIM({v})', kind.pattern)} THEN 1 ELSE 0 END) "
                        f"AS {qi(f'k{n}_{k}')}")
        aggs.append(f"MIN(CASE WHEN NOT {miss} THEN {v} END) AS {qi(f'lo{n}')}")
    return f"SELECT {', '.join(aggs)} FROM {qi('f')}"


def _pick_kind(column: str, present: int, counts: dict[str, int], data_type: str = "C",
               lowest: str | None = None) -> str | None:
    """The first kind that most present values look like, among the kinds ``data_type`` can hold.

    >>> _pick_kind("注册日期", 1399, {"mobile": 1399, "date": 1399}, "D")
    'date'
    >>> _pick_kind("联系电话", 10, {"mobile": 10}, "I", lowest="13800138000")
    'mobile'
    >>> _pick_kind("邮编", 10, {"postal_code": 10}, "I", lowest="010000") is None
    True
    """
    if present == 0:
        return None
    if data_type == "I" and lowest is not None and len(lowest) > 1 and lowest.startswith("0"):
        return None  # leading zeros: an integer column would not keep the digits
    for k, kind in KINDS.items():
        if not kind_fits_type(k, data_type):
            continue
        if kind.hints is not None and not any(h in column.lower() for h in kind.hints):
            continue
        if counts.get(k, 0) / present >= THRESHOLD:
            return k
    return None


def _extra_sql(wanted: dict[str, str], ctx: Ctx) -> str:
    """Numbers' min/max, dates' first/last, code lists' values (``wanted``: column -> what)."""
    aggs = ['COUNT(*) AS "__rows"']
    for n, (c, what) in enumerate(wanted.items()):
        v = text(c, ctx)
        miss = is_missing(v, ctx)
        if what == "number":
            num = f"TRY_CAST(TRIM({v}) AS DOUBLE)"
            aggs.append(f"MIN(CASE WHEN NOT {miss} THEN {num} END) AS {qi(f'a{n}')}")
            aggs.append(f"MAX(CASE WHEN NOT {miss} THEN {num} END) AS {qi(f'b{n}')}")
        elif what == "date":
            day = f"TRY_CAST(SUBSTRING(TRIM({v}), 1, 10) AS DATE)"
            aggs.append(f"CAST(MIN(CASE WHEN NOT {miss} THEN {day} END) AS VARCHAR) AS {qi(f'a{n}')}")
            aggs.append(f"CAST(MAX(CASE WHEN NOT {miss} THEN {day} END) AS VARCHAR) AS {qi(f'b{n}')}")
        else:
            aggs.append(f"ARRAY_AGG(DISTINCT CASE WHEN NOT {miss} THEN {v} END) AS {qi(f'a{n}')}")
    return f"SELECT {', '.join(aggs)} FROM {qi('f')}"


def _wanted_extras(columns: Sequence[str], types: dict[str, str], kinds: dict[str, str | None],
                   counts: dict[str, dict[str, Any]], rows: int, enum_max: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in columns:
        t, k = types.get(c, "C"), kinds[c]
        present, distinct = rows - int(counts[c]["m"] or 0), int(counts[c]["d"] or 0)
        if present == 0:
            continue
        if k in ("date", "timestamp") or (k is None and t in DATE_TYPES):
            out[c] = "date"
        elif k is None and t in NUMERIC_TYPES:
            out[c] = "number"
        elif k is None and t == "C" and 0 < distinct <= enum_max and present >= ENUM_ROWS_PER_VALUE * distinct \
                and not any(h in c.lower() for h in TIME_HINTS):  # a day's dates are no code list
            out[c] = "values"
    return out


def nice_bounds(lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` widened to round numbers: the bounds of a suggested range rule.

    >>> nice_bounds(2765.3, 141000.9), nice_bounds(100.0, 106.5), nice_bounds(-0.6, 18.3), nice_bounds(3, 3)
    ((0, 150000), (100, 110), (-1, 19), (3, 3))
    >>> nice_bounds(0.012, 0.0875)
    (0.012, 0.088)
    """
    span = max(abs(lo), abs(hi))
    if span == 0 or lo == hi:
        return _tidy(lo), _tidy(hi)
    step = 10.0 ** (math.floor(math.log10(span)) - 1)
    nlo, nhi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if lo >= 0 > nlo:
        nlo = 0.0
    digits = max(0, 1 - math.floor(math.log10(span)))
    return _tidy(round(nlo, digits)), _tidy(round(nhi, digits))


def _tidy(x: float) -> float:
    return int(x) if float(x).is_integer() else x


def _date_window(first: str, last: str, today: dt.date) -> tuple[str, str]:
    """From 1 January of the first year to 31 December of the last year (this year at least)."""
    return f"{first[:4]}-01-01", f"{max(int(last[:4]), today.year)}-12-31"


def _why(zh: str, en: str) -> str:
    return f"建议依据：{zh} / suggested because {en}"


def _suggest(col: str, typ: str, rows: int, nulls: int, distinct: int, kind: str | None,
             extra: Any = None, *, first: bool = False, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Rules suggested for one column from its profile; each valid as it stands and with its
    reason in ``note``.

    - check rules for detected kinds (check digits of IDs, credit codes and bank cards, region
      codes in the code table, phone and e-mail formats);
    - completeness (``not_null``, blocking) for key items: identifiers, codes, names and the
      first column, when none is missing;
    - uniqueness for keys: an identifier or code column whose values are all present and distinct;
    - a code list (``enum``) for a text column with few distinct values that repeat;
    - a range for a numeric column (observed min/max widened to round numbers);
    - a date window for a date column.
    """
    out: list[dict[str, Any]] = []
    present = rows - nulls
    if present <= 0:
        return out
    low = col.lower()
    keyish = kind in ID_KINDS or kind == "region_code" or any(h in low for h in KEY_HINTS)
    key = keyish and typ in ("C", "I") and rows > 1 and nulls == 0 and distinct == rows
    if nulls == 0 and (key or keyish or first or any(h in low for h in NAME_HINTS)):
        out.append({"type": "not_null", "column": col, "severity": "block",
                    "note": _why(f"{rows} 行均有值，且为关键信息项", f"all {rows} rows have a value in a key item")})
    if key:
        out.append({"type": "unique", "columns": [col],
                    "note": _why(f"{rows} 个值互不重复", f"its {rows} values are all distinct")})
    if kind is not None:
        rule = {**KINDS[kind].rule, "column": col,
                "note": _why(f"{present} 个值中多数形如{KIND_LABELS[kind][0]}", f"most values look like a "
                             f"{KIND_LABELS[kind][1]}")}
        if kind in ("date", "timestamp") and extra and extra[0] and extra[1]:
            rule["min"], rule["max"] = _date_window(extra[0], extra[1], today or dt.date.today())
        out.append(rule)
    elif typ in DATE_TYPES and extra and extra[0] and extra[1]:
        first_day, last_day = _date_window(extra[0], extra[1], today or dt.date.today())
        out.append({"type": "date", "column": col, "timestamp": typ == "T", "min": first_day, "max": last_day,
                    "note": _why(f"日期在 {extra[0]} 至 {extra[1]} 之间",
                                 f"dates lie between {extra[0]} and {extra[1]}")})
    elif typ in NUMERIC_TYPES and extra and extra[0] is not None and extra[1] is not None:
        lo, hi = nice_bounds(float(extra[0]), float(extra[1]))
        out.append({"type": "range", "column": col, "min": lo, "max": hi,
                    "note": _why(f"取值在 {_tidy(extra[0])} 至 {_tidy(extra[1])} 之间",
                                 f"values lie between {_tidy(extra[0])} and {_tidy(extra[1])}")})
    elif typ == "C" and isinstance(extra, list) and extra:
        values = sorted(str(x) for x in extra if x is not None)
        if values:
            out.append({"type": "enum", "column": col, "values": values,
                        "note": _why(f"{present} 行只有 {len(values)} 种取值",
                                     f"{present} rows hold only {len(values)} distinct values")})
    return out


KIND_LABELS: dict[str, tuple[str, str]] = {
    "cn_id": ("居民身份证号码", "resident ID number"), "uscc": ("统一社会信用代码", "unified social credit code"),
    "mobile": ("手机号码", "mobile number"), "landline": ("固定电话号码", "landline number"),
    "email": ("电子邮箱地址", "e-mail address"), "timestamp": ("日期时间", "timestamp"), "date": ("日期", "date"),
    "region_code": ("行政区划代码", "region code"), "postal_code": ("邮政编码", "postal code"),
    "bank_card": ("银行卡号", "bank card number"),
}


def profile_staged(engine: Engine, files: list[Path], columns: list[str], types: dict[str, str], *,
                   lookups: dict[str, TableSource], placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS,
                   name: str = "", arrow_types: dict[str, str] | None = None, enum_max: int = ENUM_MAX,
                   today: dt.date | None = None) -> FileProfile:
    """Per group of ``COLUMN_GROUP`` columns: missing/distinct/kind counts per column, the kind
    checks, then the figures the suggested rules need (min/max, first/last date, code lists)."""
    ctx = Ctx(column_types=arrow_types or {}, placeholders=placeholders)
    table = {"f": TableSource("f", files)}
    rows = 0
    counts: dict[str, dict[str, Any]] = {}
    for start in range(0, max(len(columns), 1), COLUMN_GROUP):
        group = columns[start:start + COLUMN_GROUP]
        row = engine.query(transpile(_kind_sql(group, types, ctx), engine.dialect), table, LIMITS).to_pylist()[0]
        rows = int(row["__rows"])
        for n, c in enumerate(group):
            counts[c] = {k: row[f"{k}{n}"] for k in ("m", "d", "lo")}
            counts[c]["kinds"] = {k: int(row.get(f"k{n}_{k}") or 0) for k in KINDS}
    present = {c: rows - int(counts[c]["m"] or 0) for c in columns}
    kinds: dict[str, str | None] = {
        c: _pick_kind(c, present[c], counts[c]["kinds"], types.get(c, "C"),
                      None if counts[c]["lo"] is None else str(counts[c]["lo"])) for c in columns}
    invalid = _kind_failures(engine, table, columns, kinds, ctx, lookups)
    for c, k in kinds.items():
        if k is not None and KINDS[k].confirm and invalid.get(c, 0) * 2 > present[c] \
                and not any(h in c.lower() for h in KINDS[k].trusted):
            kinds[c] = None  # most values fail the check: the look was a coincidence
    extras = _extras(engine, table, _wanted_extras(columns, types, kinds, counts, rows, enum_max), ctx)
    out = []
    for i, c in enumerate(columns):
        nulls, distinct, kind, lo = int(counts[c]["m"] or 0), int(counts[c]["d"] or 0), kinds[c], counts[c]["lo"]
        typ = types.get(c, "C")
        out.append(ColumnProfile(
            column=c, type=typ, nulls=nulls, distinct=distinct, kind=kind,
            invalid=invalid.get(c) if kind else None, null_rate=round(nulls / rows, 6) if rows else 0.0,
            samples=[str(lo)] if lo is not None else [],
            suggested_rules=_suggest(c, typ, rows, nulls, distinct, kind, extras.get(c), first=i == 0,
                                     today=today)))
    return FileProfile(file=name, rows=rows, columns=out)


def _extras(engine: Engine, table: dict[str, TableSource], wanted: dict[str, str], ctx: Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = list(wanted.items())
    for start in range(0, len(items), COLUMN_GROUP):
        group = dict(items[start:start + COLUMN_GROUP])
        row = engine.query(transpile(_extra_sql(group, ctx), engine.dialect), table, LIMITS).to_pylist()[0]
        for n, (c, what) in enumerate(group.items()):
            if what == "values":
                out[c] = [x for x in (row[f"a{n}"] or []) if x is not None]
            else:
                out[c] = (row[f"a{n}"], row[f"b{n}"])
    return out


def _kind_failures(engine: Engine, table: dict[str, TableSource], columns: list[str],
                   kinds: dict[str, str | None], ctx: Ctx, lookups: dict[str, TableSource]) -> dict[str, int]:
    """Failures of each column's kind check, ``COLUMN_GROUP`` checks per scan."""
    checks = [{**KINDS[k].rule, "column": c, "id": f"kind{n}"} for n, (c, k) in enumerate(kinds.items()) if k]
    invalid: dict[str, int] = {}
    for start in range(0, len(checks), COLUMN_GROUP):
        rs = parse_rule_set(checks[start:start + COLUMN_GROUP])
        compiled = compile_check(rs.rules, table="f", columns=columns, ctx=ctx)
        tables = {**table, **{t: lookups[t] for t in compiled.lookups}}
        res = engine.query(compiled.sql(engine.dialect), tables, LIMITS).to_pylist()[0]
        invalid |= {str(rule.columns_used()[0]): int(res[f"__fail{i}"] or 0) for i, rule in enumerate(rs.rules)}
    return invalid


def profile_file(engine: Engine, path: Path, *, lookups: dict[str, TableSource],
                 placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS, name: str | None = None,
                 limits: ReadLimits | None = None, max_columns: int | None = None,
                 enum_max: int = ENUM_MAX) -> FileProfile:
    """Profile a file on disk (nothing is stored; the staged copy is removed).

    ``limits`` bound the upload's shape and ``max_columns`` the columns profiled (413 beyond).
    """
    staging = Path(tempfile.mkdtemp(prefix="shudata-profile-"))
    try:
        columns, types, _ = read_as_text(path, staging, name, limits=limits, max_columns=max_columns,
                                        placeholders=placeholders)
        return profile_staged(engine, parts(staging), columns, types, lookups=lookups, placeholders=placeholders,
                              name=name or path.name, enum_max=enum_max)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def profile_target(engine: Engine, target: Target, *, lookups: dict[str, TableSource], enum_max: int = ENUM_MAX,
                   today: dt.date | None = None) -> FileProfile:
    """Profile a stored version (types are the stored Arrow types)."""
    letters = {c: arrow_letter(t) for c, t in target.types.items()}
    return profile_staged(engine, list(target.source.files), list(target.columns), letters, lookups=lookups,
                          name=target.source.name, arrow_types=dict(target.types), enum_max=enum_max, today=today)


def arrow_letter(arrow_type: str) -> str:
    """Catalog data-type letter of an Arrow type string.

    >>> arrow_letter("int64"), arrow_letter("double"), arrow_letter("date32[day]"), arrow_letter("string")
    ('I', 'N', 'D', 'C')
    """
    t = arrow_type.lower()
    if t.startswith(("int", "uint")):
        return "I"
    if t.startswith(("double", "float", "decimal", "halffloat")):
        return "N"
    if t.startswith("date"):
        return "D"
    if t.startswith("timestamp"):
        return "T"
    if t == "bool":
        return "L"
    return "C"
