"""Per-rule SQL: each row-level rule type → a failure predicate (a sqlglot expression).

Templates are written once in DuckDB SQL, parsed by sqlglot and generated for the target
dialect (``duckdb``, ``spark``), so the same rule runs on every engine. A predicate is TRUE
exactly when a row fails; missing values (NULL, blank, placeholders) fail only completeness
rules. Check digits are computed with integer arithmetic over substrings — vectorised in the
engine, no Python per row. Region and cross-resource lookups are LEFT JOINs to small
distinct tables (Spark forbids IN-subqueries in projections).

>>> from shudata.quality.rules import parse_rule
>>> rule = parse_rule({"type": "enum", "column": "性别", "values": ["男", "女"]})
>>> chk = row_check(rule, 0, Ctx(placeholders=("-",)))
>>> chk.fails.endswith("IN ('男', '女'), FALSE))")
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shudata.quality import rules as R
from shudata.quality.checks import formats as F
from shudata.standards.cn_id import WEIGHTS as ID_WEIGHTS
from shudata.standards.uscc import ALPHABET as USCC_ALPHABET
from shudata.standards.uscc import ORG_ALPHABET, ORG_WEIGHTS
from shudata.standards.uscc import WEIGHTS as USCC_WEIGHTS

DEFAULT_PLACEHOLDERS = ("N/A", "NA", "n/a", "无", "空", "-", "—", "NULL", "null")
REGIONS_TABLE = "__ref_regions"
STRING_TYPES = ("string", "large_string", "utf8", "large_utf8", "varchar")


@dataclass(frozen=True)
class Ctx:
    """What the compiler needs to know about the checked table."""

    column_types: Mapping[str, str] = field(default_factory=dict)  # Arrow type strings
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    as_of: dt.date = dt.date(2100, 1, 1)  # latest acceptable birth date etc.
    ref_tables: Mapping[str, str] = field(default_factory=dict)  # rule key -> table name


@dataclass(frozen=True)
class Join:
    """``LEFT JOIN (SELECT DISTINCT CAST(col AS VARCHAR) AS __k FROM table) alias ON left = alias.__k``;
    with ``value``, the lookup also brings ``alias.__v`` (the table's keys must then be unique)."""

    alias: str
    table: str
    column: str
    left: str  # SQL (duckdb) over the row
    value: str | None = None
    key_type: str = "VARCHAR"  # INTEGER joins hash and compare faster than short strings

    def sql(self) -> str:
        if self.value is None:
            key = f"CAST({qi(self.column)} AS VARCHAR)" if self.key_type == "VARCHAR" else \
                f"TRY_CAST({qi(self.column)} AS {self.key_type})"
            sub = f"SELECT DISTINCT {key} AS __k FROM {qi(self.table)}"
        else:
            sub = f"SELECT {qi(self.column)} AS __k, {qi(self.value)} AS __v FROM {qi(self.table)}"
        return f" LEFT JOIN ({sub}) AS {self.alias} ON {self.left} = {self.alias}.__k"


@dataclass(frozen=True)
class RowCheck:
    key: str
    fails: str  # DuckDB SQL, TRUE when the row fails
    sample: str  # DuckDB SQL of the value shown as a sample
    helpers: tuple[tuple[str, str], ...] = ()  # (alias, duckdb SQL) computed in an inner projection
    joins: tuple[Join, ...] = ()
    present: bool = False  # a failing row's sample is never NULL (the rule fails present values only)


def qi(name: str) -> str:
    """Quote an identifier (DuckDB syntax, parsed later)."""
    return '"' + name.replace('"', '""') + '"'


def ql(value: str) -> str:
    """Quote a string literal."""
    return "'" + value.replace("'", "''") + "'"


def parse(sql: str) -> str:
    """A parenthesised SQL fragment (DuckDB syntax). Fragments are joined as text and the whole
    query is parsed once by sqlglot when another dialect is wanted."""
    return f"({sql})"


def text(col: str, ctx: Ctx) -> str:
    """The column as text (no cast when it already is a string)."""
    t = ctx.column_types.get(col, "string").lower()
    return qi(col) if t in STRING_TYPES else f"CAST({qi(col)} AS VARCHAR)"


def is_missing(v: str, ctx: Ctx) -> str:
    """NULL, blank or a placeholder. Cheap first tests (length; the first bytes compared as a
    string, no SUBSTRING) keep the TRIM off most rows: conjunctions are evaluated on the rows
    that still qualify. A long value counts as blank when it trims to ''; it then starts with
    a character TRIM removes (space, U+00A0, U+1680, U+2000–U+200A, U+202F, U+205F, U+3000),
    so the TRIM runs only on values that start with a byte below '!' or with a character in
    one of the ranges ['\u00a0', '\u00a1'), ['\u1680', '\u1681'), ['\u2000', '\u2060'),
    ['\u3000', '\u3001'). A non-text column (``CAST(… AS VARCHAR)``) can only be NULL and is
    tested without the cast."""
    if v.startswith("CAST(") and v.endswith(" AS VARCHAR)"):
        return f"({v[len('CAST('):-len(' AS VARCHAR)')]} IS NULL)"
    marks = ", ".join(ql(p) for p in ("", *ctx.placeholders))
    short = max((len(p) for p in ctx.placeholders), default=0) + 4
    starts = " OR ".join(f"({v} >= '{a}' AND {v} < '{b}')" for a, b in BLANK_STARTS)
    return (f"({v} IS NULL OR (LENGTH({v}) <= {short} AND TRIM({v}) IN ({marks})) "
            f"OR (({v} < '!' OR {starts}) AND TRIM({v}) = ''))")


BLANK_STARTS = (("\u00a0", "\u00a1"), ("\u1680", "\u1681"), ("\u2000", "\u2060"), ("\u3000", "\u3001"))


def fails_when_invalid(v: str, valid: str, ctx: Ctx) -> str:
    """Present and not valid (NULL from the validity test counts as invalid)."""
    return parse(f"NOT {is_missing(v, ctx)} AND NOT COALESCE({valid}, FALSE)")


def regex(v: str, pattern: str) -> str:
    return f"REGEXP_MATCHES({v}, {ql(pattern)})"


# -- check digits in SQL -------------------------------------------------------------------

def id_check_char(digits17: str) -> str:
    """ISO 7064 MOD 11-2 check character of 17 digits held as a BIGINT (integer arithmetic only)."""
    terms = " + ".join(f"(({digits17} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"SUBSTRING('10X98765432', (({terms}) % 11) + 1, 1)"


def weighted_mod_terms(chunk: str, weights: tuple[int, ...], modulus: int, div: str = "/") -> str:
    """Σ digit·weight (mod ``modulus``) over the decimal digits of a DOUBLE ``chunk`` (most
    significant first), without extracting digits: digit_j = f_j − 10·f_{j+1} with
    f_j = floor(chunk / 10^j), so the sum telescopes to Σ f_j·(w_j − 10·w_{j−1}). With
    ``div="//"`` the chunk is an integer and integer division is used.

    >>> weighted_mod_terms("a", (1, 2), 11)  # 1·d1 + 2·d0 = 2·a + (1 − 20)·floor(a/10) ≡ 2·a + 3·floor(a/10)
    '(a) * 2 + FLOOR(a / 10) * 3'
    """
    ws = list(reversed(weights))  # ws[j] = weight of the 10^j place
    terms = []
    for j, w in enumerate(ws):
        c = (w - 10 * (ws[j - 1] if j else 0)) % modulus
        f = f"({chunk})" if j == 0 else (f"FLOOR({chunk} / {10 ** j})" if div == "/" else f"({chunk} // {10 ** j})")
        if c:
            terms.append(f"{f} * {c}")
    return " + ".join(terms)


def id_birth_ok(v: str, as_of: dt.date, legacy: bool = False) -> str:
    s = (f"'19' || SUBSTRING({v}, 7, 2) || '-' || SUBSTRING({v}, 9, 2) || '-' || SUBSTRING({v}, 11, 2)" if legacy
         else f"SUBSTRING({v}, 7, 4) || '-' || SUBSTRING({v}, 11, 2) || '-' || SUBSTRING({v}, 13, 2)")
    return f"TRY_CAST({s} AS DATE) BETWEEN DATE '1880-01-01' AND DATE '{as_of.isoformat()}'"


def ymd_ok(ymd: str, as_of: dt.date) -> str:
    """An integer YYYYMMDD names a real day between 1880-01-01 and ``as_of`` (integer arithmetic only)."""
    y, m, d = f"({ymd} // 10000)", f"(({ymd} // 100) % 100)", f"({ymd} % 100)"
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    last = f"CASE WHEN {m} IN (4, 6, 9, 11) THEN 30 WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END ELSE 31 END"
    return (f"{ymd} BETWEEN 18800101 AND {as_of.strftime('%Y%m%d')} AND {m} BETWEEN 1 AND 12 "
            f"AND {d} BETWEEN 1 AND {last}")


USCC_LETTER_POSITIONS = (1, 2, 9, 10, 11, 12, 13, 14, 15, 16, 17)  # may hold letters (1-based)


USCC_SHAPE_RE = r"^[1-9ANY][0-9A-HJ-NP-RTUWXY][0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$"  # USCC_RE, first char checked


def b_uscc(r: R.Uscc, i: int, ctx: Ctx) -> RowCheck:
    """GB 32100 without lookups or string building: one regular expression checks the shape
    (including the registration authority in the first character); characters 3–8 (digits)
    are read as one number whose weighted digit sum is telescoped (:func:`weighted_mod_terms`);
    each of the 11 characters that may be letters is valued by its position in the alphabet
    (``STRPOS`` − 1, the −1s folded into one constant). The code is valid when
    Σ value·weight + check value ≡ 0 (mod 31). One helper column (the digits), everything
    else in the flag expression."""
    v = text(r.column, ctx)
    region = f"__h{i}_r"
    digits = weighted_mod_terms(region, USCC_WEIGHTS[2:8], 31)
    letters = " + ".join(f"STRPOS('{USCC_ALPHABET}', SUBSTRING({v}, {k}, 1)) * {USCC_WEIGHTS[k - 1]}"
                         for k in USCC_LETTER_POSITIONS)
    offset = sum(USCC_WEIGHTS[k - 1] for k in USCC_LETTER_POSITIONS) + 1  # the −1 of every STRPOS, check incl.
    check = f"STRPOS('{USCC_ALPHABET}', SUBSTRING({v}, 18, 1))"
    total = f"{digits} + {letters} + {check} - {offset}"
    valid = f"{regex(v, USCC_SHAPE_RE)} AND ({total}) % 31 = 0"
    helpers = ((region, f"TRY_CAST(SUBSTRING({v}, 3, 6) AS DOUBLE)"),)
    return RowCheck(r.key, fails_when_invalid(v, valid, ctx), _sample(v), helpers, present=True)


def uscc_ok(v: str) -> str:
    """GB 32100 check character. Characters 3–8 (the region code, digits by the pattern) are
    taken from one integer; the others are looked up in the 31-character alphabet."""
    region = f"TRY_CAST(SUBSTRING({v}, 3, 6) AS DOUBLE)"
    terms = " + ".join(f"(STRPOS('{USCC_ALPHABET}', SUBSTRING({v}, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(USCC_WEIGHTS) if not 2 <= i <= 7)
    terms = f"CAST({terms} + {weighted_mod_terms(region, USCC_WEIGHTS[2:8], 31)} AS BIGINT)"
    return (f"{regex(v, F.USCC_RE)} AND SUBSTRING({v}, 1, 1) IN ('1','2','3','4','5','6','7','8','9','A','N','Y') "
            f"AND SUBSTRING('{USCC_ALPHABET}', ((31 - ({terms}) % 31) % 31) + 1, 1) = SUBSTRING({v}, 18, 1)")


def org_code_ok(v: str) -> str:
    s = f"REPLACE(UPPER({v}), '-', '')"
    terms = " + ".join(f"(STRPOS('{ORG_ALPHABET}', SUBSTRING({s}, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(ORG_WEIGHTS))
    return (f"{regex(f'UPPER({v})', F.ORG_CODE_RE)} AND "
            f"SUBSTRING('0123456789X0', 11 - (({terms}) % 11) + 1, 1) = SUBSTRING({s}, 9, 1)")


def luhn_ok(v: str) -> str:
    """Luhn over 12–19 digits: doubled digits looked up in '0246813579'."""
    terms = []
    for k in range(19):
        d = f"SUBSTRING({v}, LENGTH({v}) - {k}, 1)"
        val = f"TRY_CAST(SUBSTRING('0246813579', TRY_CAST({d} AS INTEGER) + 1, 1) AS INTEGER)" if k % 2 else \
            f"TRY_CAST({d} AS INTEGER)"
        terms.append(f"CASE WHEN LENGTH({v}) > {k} THEN {val} ELSE 0 END")
    return f"{regex(v, F.BANK_CARD_RE)} AND ({' + '.join(terms)}) % 10 = 0"


# -- builders per rule type ------------------------------------------------------------------

Builder = Callable[[Any, int, Ctx], RowCheck]


def _sample(v: str) -> str:
    return parse(v)


def _multi_sample(cols: tuple[str, ...] | list[str], ctx: Ctx) -> str:
    return parse("CONCAT_WS(' | ', " + ", ".join(f"COALESCE({text(c, ctx)}, '∅')" for c in cols) + ")")


def b_not_null(r: R.NotNull, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    cond = is_missing(v, ctx) if r.blank_is_null else f"{qi(r.column)} IS NULL"
    return RowCheck(r.key, parse(cond), _sample(v))


def b_required(r: R.Required, i: int, ctx: Ctx) -> RowCheck:
    cond = " OR ".join(is_missing(text(c, ctx), ctx) for c in r.columns)
    return RowCheck(r.key, parse(cond), _multi_sample(r.columns, ctx))


def id_helpers(v: str) -> tuple[tuple[str, str], ...]:
    """Helper columns of an 18-character ID, shared by every rule on the same column:

    - ``n``: the whole value as a BIGINT when it may be 18 plain digits;
    - ``d``: the first 17 digits as a BIGINT (``>= 10^16`` exactly when they are 17 digits);
    - ``c``: the value of the 18th character (0–9, 10 for X/x) when ``d`` holds;
    - ``hi``, ``lo``: the first 8 and the last 9 of those digits as DOUBLEs, ``ymd`` the
      birth date as an integer YYYYMMDD (when ``d`` holds).

    TRY_CAST to BIGINT also reads signs, spaces, ``_``, ``.``, exponents and ``0x``/``0b``
    prefixes; with 18 (17) characters a value ``>= 10^17`` (``>= 10^16``) is plain digits once
    the first character is ``>= '1'`` (no sign, space or ``0x`` prefix) and there is no ``e``/``E``.
    """
    n, d, c = id_alias(v, "n"), id_alias(v, "d"), id_alias(v, "c")
    hi, lo, ymd = id_alias(v, "hi"), id_alias(v, "lo"), id_alias(v, "ymd")
    guard = f"LENGTH({v}) = 18 AND {v} >= '1' AND STRPOS({v}, 'e') = 0 AND STRPOS({v}, 'E') = 0"
    ok = f"{d} >= 10000000000000000"
    return ((n, f"CASE WHEN {guard} THEN TRY_CAST({v} AS BIGINT) END"),
            (d, f"CASE WHEN {n} >= 100000000000000000 THEN {n} // 10 "
                f"WHEN {guard} AND RIGHT({v}, 1) IN ('X', 'x') THEN TRY_CAST(LEFT({v}, 17) AS BIGINT) END"),
            (c, f"CASE WHEN {n} >= 100000000000000000 THEN {n} % 10 ELSE 10 END"),
            (hi, f"CASE WHEN {ok} THEN CAST({d} // 1000000000 AS DOUBLE) END"),
            (lo, f"CASE WHEN {ok} THEN CAST({d} % 1000000000 AS DOUBLE) END"),
            (ymd, f"CASE WHEN {ok} THEN CAST(({d} // 1000) % 100000000 AS INTEGER) END"))


def id_alias(v: str, part: str) -> str:
    """A helper name per ID column (the same for every rule on that column)."""
    return f"__id_{hashlib.sha1(v.encode()).hexdigest()[:10]}_{part}"


def id_checksum_terms(v: str) -> str:
    """Σ digit·weight (≡ mod 11) of the 17 digits, from the helper columns ``hi`` (first 8
    digits) and ``lo`` (last 9) held as DOUBLEs: the telescoped sums of
    :func:`weighted_mod_terms` (FLOOR of a DOUBLE quotient is exact below 2^53, and DOUBLE
    division is much cheaper than 64-bit integer division)."""
    hi, lo = id_alias(v, "hi"), id_alias(v, "lo")
    return f"{weighted_mod_terms(hi, ID_WEIGHTS[:8], 11)} + {weighted_mod_terms(lo, ID_WEIGHTS[8:], 11)}"


def b_cn_id(r: R.CnId, i: int, ctx: Ctx) -> RowCheck:
    """18 digits (the last may be X): date and check digit by integer arithmetic on the shared
    helpers, computed before the region join (after it only booleans are combined); the check
    holds when Σ digit·weight + check value ≡ 1 (mod 11)."""
    v = text(r.column, ctx)
    d, c, ymd = id_alias(v, "d"), id_alias(v, "c"), id_alias(v, "ymd")
    missing, ok18, ok15, total = id_alias(v, "m"), f"__h{i}_ok", f"__h{i}_ok15", f"__h{i}_sum"
    helpers = [*id_helpers(v), (missing, is_missing(v, ctx)),
               (total, f"{id_checksum_terms(v)} + {c}"),
               (ok18, f"COALESCE({d} >= 10000000000000000 AND {ymd_ok(ymd, ctx.as_of)} "
                      f"AND {total} - 11 * FLOOR({total} / 11) = 1, FALSE)")]
    joins: tuple[Join, ...] = ()
    region18 = region15 = "TRUE"
    if r.check_region:
        joins = (Join(f"__j{i}", REGIONS_TABLE, "code", f"CAST({d} // 100000000000 AS INTEGER)", key_type="INTEGER"),)
        region18 = f"__j{i}.__k IS NOT NULL"
        joins += (Join(f"__j{i}_15", REGIONS_TABLE, "code", f"SUBSTRING({v}, 1, 6)"),) if r.allow_15 else ()
        region15 = f"__j{i}_15.__k IS NOT NULL"
    valid = f"({ok18} AND {region18})"
    if r.allow_15:
        helpers.append((ok15, f"COALESCE({regex(v, F.RESIDENT_ID15_RE)} AND {id_birth_ok(v, ctx.as_of, legacy=True)}, "
                              "FALSE)"))
        valid += f" OR ({ok15} AND {region15})"
    fails = parse(f"NOT {missing} AND NOT COALESCE({valid}, FALSE)")
    return RowCheck(r.key, fails, _sample(v), tuple(helpers), joins, present=True)


def b_simple(valid: Callable[[str], str]) -> Builder:
    def build(r: Any, i: int, ctx: Ctx) -> RowCheck:
        v = text(r.column, ctx)
        return RowCheck(r.key, fails_when_invalid(v, f"({valid(v)})", ctx), _sample(v), present=True)

    return build


def _nospace(v: str) -> str:
    return f"REPLACE({v}, ' ', '')"


FORMAT_VALID: dict[str, Callable[[str], str]] = {
    "mobile": lambda v: regex(v, F.MOBILE_SPACED_RE),
    "landline": lambda v: regex(_nospace(v), F.LANDLINE_RE),
    "phone": lambda v: f"{regex(_nospace(v), F.MOBILE_RE)} OR {regex(_nospace(v), F.LANDLINE_RE)}",
    "email": lambda v: regex(v, F.EMAIL_RE),
    "postal_code": lambda v: regex(v, F.POSTAL_RE),
}


def b_format(r: R.Format, i: int, ctx: Ctx) -> RowCheck:
    return b_simple(FORMAT_VALID[r.format])(r, i, ctx)


def b_region_code(r: R.RegionCode, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    j = Join(f"__j{i}", REGIONS_TABLE if r.historical else REGIONS_TABLE + "_current", "code", v)
    return RowCheck(r.key, fails_when_invalid(v, f"({regex(v, '^[0-9]{6}$')} AND __j{i}.__k IS NOT NULL)", ctx),
                    _sample(v), (), (j,), present=True)


def date_valid(v: str, timestamp: bool) -> str:
    if timestamp:
        return f"{regex(v, F.ISO_TIMESTAMP_RE)} AND TRY_CAST({v} AS TIMESTAMP) IS NOT NULL"
    return f"{regex(v, F.ISO_DATE_RE)} AND TRY_CAST({v} AS DATE) IS NOT NULL"


def b_date(r: R.DateValid, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    valid = date_valid(v, r.timestamp)
    if r.min:
        valid += f" AND TRY_CAST(SUBSTRING({v}, 1, 10) AS DATE) >= DATE {ql(r.min)}"
    if r.max:
        valid += f" AND TRY_CAST(SUBSTRING({v}, 1, 10) AS DATE) <= DATE {ql(r.max)}"
    return RowCheck(r.key, fails_when_invalid(v, f"({valid})", ctx), _sample(v), present=True)


def b_enum(r: R.Enum, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    return RowCheck(r.key, fails_when_invalid(v, f"{v} IN ({', '.join(ql(x) for x in r.values)})", ctx), _sample(v),
                    present=True)


NUMBER_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
INTEGER_RE = r"^[+-]?[0-9]+$"


def number(col: str, ctx: Ctx) -> str:
    t = ctx.column_types.get(col, "string").lower()
    if t.startswith(("int", "uint", "float", "double", "decimal", "halffloat")):
        return f"CAST({qi(col)} AS DOUBLE)"
    return f"TRY_CAST(TRIM({text(col, ctx)}) AS DOUBLE)"


def b_range(r: R.Range, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    n = number(r.column, ctx)
    conds = [f"{n} IS NOT NULL"]
    if r.min is not None:
        conds.append(f"{n} >= {r.min!r}")
    if r.max is not None:
        conds.append(f"{n} <= {r.max!r}")
    return RowCheck(r.key, fails_when_invalid(v, "(" + " AND ".join(conds) + ")", ctx), _sample(v), present=True)


def b_regex(r: R.Regex, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    return RowCheck(r.key, fails_when_invalid(v, regex(v, r.pattern), ctx), _sample(v), present=True)


def b_length(r: R.Length, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    conds = [f"LENGTH({v}) >= {r.min}" if r.min is not None else "TRUE"]
    if r.max is not None:
        conds.append(f"LENGTH({v}) <= {r.max}")
    return RowCheck(r.key, fails_when_invalid(v, "(" + " AND ".join(conds) + ")", ctx), _sample(v), present=True)


BOOL_VALUES = ("true", "false", "True", "False", "TRUE", "FALSE", "1", "0", "是", "否", "Y", "N", "y", "n")


def b_data_type(r: R.DataTypeMatch, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    t = r.data_type
    valid = {"N": regex(f"TRIM({v})", NUMBER_RE), "Y": regex(f"TRIM({v})", NUMBER_RE),
             "F": regex(f"TRIM({v})", NUMBER_RE), "I": regex(f"TRIM({v})", INTEGER_RE),
             "D": date_valid(f"SUBSTRING({v}, 1, 10)", False), "T": date_valid(v, True),
             "L": f"TRIM({v}) IN ({', '.join(ql(b) for b in BOOL_VALUES)})"}.get(t, "TRUE")
    if r.length and t in ("C", "M", "N", "Y", "F", "I"):
        valid = f"({valid}) AND LENGTH({v}) <= {r.length}"
    return RowCheck(r.key, fails_when_invalid(v, f"({valid})", ctx), _sample(v), present=True)


def b_unique(r: R.Unique, i: int, ctx: Ctx) -> RowCheck:
    cnt = f"__h{i}_n"
    part = ", ".join(qi(c) for c in r.columns)
    present = " AND ".join(f"NOT {is_missing(text(c, ctx), ctx)}" for c in r.columns)
    return RowCheck(r.key, parse(f"{present} AND {cnt} > 1"), _multi_sample(r.columns, ctx),
                    ((cnt, f"COUNT(*) OVER (PARTITION BY {part})"),))


def flexible_date(v: str) -> str:
    """``YYYY-MM-DD`` or compact ``YYYYMMDD`` as a DATE (NULL otherwise)."""
    compact = f"SUBSTRING({v}, 1, 4) || '-' || SUBSTRING({v}, 5, 2) || '-' || SUBSTRING({v}, 7, 2)"
    return (f"CASE WHEN {regex(v, '^[0-9]{8}$')} THEN TRY_CAST({compact} AS DATE) "
            f"WHEN {regex(v, '^[0-9]{4}-[0-9]{2}-[0-9]{2}')} THEN TRY_CAST(SUBSTRING({v}, 1, 10) AS DATE) END")


def both_present(a: str, b: str, ctx: Ctx) -> str:
    return f"NOT {is_missing(a, ctx)} AND NOT {is_missing(b, ctx)}"


def b_id_birth(r: R.IdBirth, i: int, ctx: Ctx) -> RowCheck:
    idv, b = text(r.id_column, ctx), text(r.birth_column, ctx)
    id_date = (f"TRY_CAST(SUBSTRING({idv}, 7, 4) || '-' || SUBSTRING({idv}, 11, 2) || '-' "
               f"|| SUBSTRING({idv}, 13, 2) AS DATE)")
    cond = (f"{both_present(idv, b, ctx)} AND {regex(idv, F.RESIDENT_ID_RE)} "
            f"AND COALESCE({flexible_date(b)} <> {id_date}, TRUE)")
    return RowCheck(r.key, parse(cond), _multi_sample([r.id_column, r.birth_column], ctx))


MALE = ("男", "M", "m", "male", "Male", "1")
FEMALE = ("女", "F", "f", "female", "Female", "2", "0")


def b_id_sex(r: R.IdSex, i: int, ctx: Ctx) -> RowCheck:
    """The 17th digit's parity against the sex column; the parity comes from the shared ID
    helper when the first 17 characters are digits, from the character itself otherwise."""
    idv, s = text(r.id_column, ctx), text(r.sex_column, ctx)
    d = id_alias(idv, "d")
    digit = f"CASE WHEN {d} >= 10000000000000000 THEN {d} % 2 ELSE TRY_CAST(SUBSTRING({idv}, 17, 1) AS INTEGER) % 2 END"
    sex = (f"CASE WHEN TRIM({s}) IN ({', '.join(ql(x) for x in MALE)}) THEN TRUE "
           f"WHEN TRIM({s}) IN ({', '.join(ql(x) for x in FEMALE)}) THEN FALSE END")
    parity, missing = f"__h{i}_p", id_alias(idv, "m")
    looks_like_id = f"LENGTH({idv}) = 18 AND {parity} IS NOT NULL"
    cond = (f"NOT {missing} AND NOT {is_missing(s, ctx)} AND {looks_like_id} "
            f"AND COALESCE(({sex}) <> ({parity} = 1), TRUE)")
    return RowCheck(r.key, parse(cond), _multi_sample([r.id_column, r.sex_column], ctx),
                    (*id_helpers(idv), (missing, is_missing(idv, ctx)), (parity, digit)))


def b_id_region(r: R.IdRegion, i: int, ctx: Ctx) -> RowCheck:
    idv, g = text(r.id_column, ctx), text(r.region_column, ctx)
    n = {"province": 2, "city": 4, "county": 6}[r.level]
    cond = (f"{both_present(idv, g, ctx)} AND {regex(idv, '^[0-9]{6}')} "
            f"AND SUBSTRING({idv}, 1, {n}) <> SUBSTRING(TRIM({g}), 1, {n})")
    return RowCheck(r.key, parse(cond), _multi_sample([r.id_column, r.region_column], ctx))


def _typed(col: str, as_type: str, ctx: Ctx) -> str:
    if as_type == "number":
        return number(col, ctx)
    if as_type == "date":
        return flexible_date(text(col, ctx))
    return text(col, ctx)


def b_compare(r: R.Compare, i: int, ctx: Ctx) -> RowCheck:
    a, b = text(r.left, ctx), text(r.right, ctx)
    op = "<>" if r.op == "!=" else r.op
    cond = (f"{both_present(a, b, ctx)} AND NOT COALESCE({_typed(r.left, r.as_type, ctx)} {op} "
            f"{_typed(r.right, r.as_type, ctx)}, FALSE)")
    return RowCheck(r.key, parse(cond), _multi_sample([r.left, r.right], ctx))


def b_reference(r: R.Reference, i: int, ctx: Ctx) -> RowCheck:
    v = text(r.column, ctx)
    table = ctx.ref_tables.get(r.key, f"__ref{i}")
    j = Join(f"__j{i}", table, r.ref_column, v)
    return RowCheck(r.key, fails_when_invalid(v, f"__j{i}.__k IS NOT NULL", ctx), _sample(v), (), (j,), present=True)


BUILDERS: dict[str, Builder] = {
    "not_null": b_not_null, "required": b_required, "cn_id": b_cn_id, "uscc": b_uscc,
    "org_code": b_simple(org_code_ok), "bank_card": b_simple(luhn_ok), "region_code": b_region_code,
    "format": b_format, "date": b_date, "enum": b_enum, "range": b_range, "regex": b_regex, "length": b_length,
    "data_type": b_data_type, "unique": b_unique, "id_birth": b_id_birth, "id_sex": b_id_sex,
    "id_region": b_id_region, "compare": b_compare, "reference": b_reference,
}


def row_check(rule: R.RuleBase, index: int, ctx: Ctx) -> RowCheck:
    """The failure predicate of a row-level rule (``index`` keeps helper names unique)."""
    return BUILDERS[rule.type](rule, index, ctx)
