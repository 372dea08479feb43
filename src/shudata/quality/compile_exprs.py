"""Per-rule SQL: each row-level rule type → a failure predicate, built as a sqlglot
expression tree (never by pasting strings).

Trees are rendered as DuckDB SQL (the reference) and generated for the other dialects
(``spark``) by sqlglot, so the same rule runs on every engine. A predicate is TRUE
exactly when a row fails; missing values (NULL, blank, placeholders) fail only completeness
rules. Check digits are computed with integer arithmetic over substrings — vectorised in the
engine, no Python per row. Region and cross-resource lookups are LEFT JOINs to small
distinct tables (Spark forbids IN-subqueries in projections).

A new rule type is one builder ``(rule, index, ctx) -> RowCheck`` in :data:`BUILDERS`,
composed from the expression helpers below (:func:`col`, :func:`lit`, :func:`fn`,
:func:`missing`, :func:`fails_when_invalid`, …).

>>> from shudata.quality.rules import parse_rule
>>> rule = parse_rule({"type": "enum", "column": "性别", "values": ["男", "女"]})
>>> chk = row_check(rule, 0, Ctx(placeholders=("-",)))
>>> sql(chk.fails).endswith("IN ('男', '女'), FALSE))")
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from shudata.quality import rules as R
from shudata.quality.checks import formats as F
from shudata.standards.cn_id import WEIGHTS as ID_WEIGHTS
from shudata.standards.uscc import ALPHABET as USCC_ALPHABET
from shudata.standards.uscc import ORG_ALPHABET, ORG_WEIGHTS
from shudata.standards.uscc import WEIGHTS as USCC_WEIGHTS

E = exp.Expr
DUCKDB = Dialect.get_or_raise("duckdb")

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


# -- expression helpers ------------------------------------------------------------------------

def sql(e: E) -> str:
    """The expression as DuckDB SQL (the reference dialect)."""
    return e.sql(dialect=DUCKDB)


def col(name: str) -> exp.Column:
    """A column of the checked table (quoted: names are Chinese, may hold spaces or quotes)."""
    return exp.column(name, quoted=True)


def ref(name: str, table: str | None = None) -> exp.Column:
    """A helper column or a lookup's key (``__h0_r``, ``__j0.__k``): generated, never quoted."""
    return exp.column(name, table=table)


def lit(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def num(value: int | float) -> exp.Expr:
    return exp.Literal.number(repr(value) if isinstance(value, float) else value)


def _arg(a: E | int | str) -> E:
    if isinstance(a, exp.Expr):
        return a
    return num(a) if isinstance(a, int) else lit(a)


def fn(name: str, *args: E | int | str) -> E:
    """A function call by its DuckDB name (ints become numbers, strs string literals)."""
    return exp.func(name, *(_arg(a) for a in args), copy=False, dialect=DUCKDB)


def paren(e: E) -> exp.Paren:
    return exp.Paren(this=e)


def and_(*es: E) -> E:
    return exp.and_(*es, copy=False)


def or_(*es: E) -> E:
    return exp.or_(*es, copy=False)


def not_(e: E) -> E:
    return exp.not_(e, copy=False)


def coalesce(e: E, default: E) -> E:
    return exp.Coalesce(this=e, expressions=[default])


def cast(e: E, to: str) -> E:
    return exp.Cast(this=e, to=exp.DataType.build(to))


def try_cast(e: E, to: str) -> E:
    return exp.TryCast(this=e, to=exp.DataType.build(to))


def substr(v: E, start: E | int, length: int) -> E:
    return fn("SUBSTRING", v, start, length)


def concat(*es: E | str) -> E:
    out = _arg(es[0])
    for e in es[1:]:
        out = exp.DPipe(this=out, expression=_arg(e))
    return out


def isin(v: E, values: Sequence[str | int]) -> E:
    return exp.In(this=v, expressions=[_arg(x) for x in values])


def case(*whens: tuple[E, E], default: E | None = None) -> E:
    return exp.Case(ifs=[exp.If(this=c, true=t) for c, t in whens], default=default)


def total(*terms: E) -> E:
    """``a + b + …`` (left-associative)."""
    out = terms[0]
    for t in terms[1:]:
        out = exp.Add(this=out, expression=t)
    return out


def mul(a: E, b: E | int) -> E:
    return exp.Mul(this=a, expression=_arg(b))


def mod(a: E, b: E | int) -> E:
    return exp.Mod(this=a, expression=_arg(b))


def idiv(a: E, b: E | int) -> E:
    return exp.IntDiv(this=a, expression=_arg(b))


def sub(a: E, b: E | int) -> E:
    return exp.Sub(this=a, expression=_arg(b))


def eq(a: E, b: E | int | str) -> E:
    return exp.EQ(this=a, expression=_arg(b))


def ge(a: E, b: E | int | str) -> E:
    return exp.GTE(this=a, expression=_arg(b))


def le(a: E, b: E | int | str) -> E:
    return exp.LTE(this=a, expression=_arg(b))


def lt(a: E, b: E | int | str) -> E:
    return exp.LT(this=a, expression=_arg(b))


def between(v: E, low: E | int, high: E | int) -> E:
    return exp.Between(this=v, low=_arg(low), high=_arg(high))


def is_null(e: E) -> E:
    return exp.Is(this=e, expression=exp.Null())


def date_lit(day: str) -> E:
    return cast(lit(day), "DATE")


def c(e: E) -> E:
    """A copy, for a node used in more than one place of a tree."""
    return e.copy()


# -- joins and row checks --------------------------------------------------------------------

@dataclass(frozen=True)
class Join:
    """``LEFT JOIN (SELECT DISTINCT CAST(col AS VARCHAR) AS __k FROM table) alias ON left = alias.__k``;
    with ``value``, the lookup also brings ``alias.__v`` (the table's keys must then be unique)."""

    alias: str
    table: str
    column: str
    left: E  # over the row
    value: str | None = None
    key_type: str = "VARCHAR"  # INTEGER joins hash and compare faster than short strings

    def tree(self) -> exp.Join:
        if self.value is None:
            key = cast(col(self.column), "VARCHAR") if self.key_type == "VARCHAR" else \
                try_cast(col(self.column), self.key_type)
            sub_q = exp.select(exp.alias_(key, "__k")).distinct().from_(exp.to_table(qi(self.table), dialect="duckdb"))
        else:
            sub_q = exp.select(exp.alias_(col(self.column), "__k"), exp.alias_(col(self.value), "__v")).from_(
                exp.to_table(qi(self.table), dialect="duckdb"))
        return exp.Join(this=exp.Subquery(this=sub_q, alias=exp.TableAlias(this=exp.to_identifier(self.alias))),
                        side="LEFT", on=eq(c(self.left), ref("__k", self.alias)))

    def sql(self) -> str:
        return " " + sql(self.tree())


@dataclass(frozen=True)
class RowCheck:
    key: str
    fails: E  # TRUE when the row fails
    sample: E  # the value shown as a sample
    helpers: tuple[tuple[str, E], ...] = ()  # (alias, expression) computed in an inner projection
    joins: tuple[Join, ...] = ()
    present: bool = False  # a failing row's sample is never NULL (the rule fails present values only)


def qi(name: str) -> str:
    """Quote an identifier (DuckDB syntax) for the query text assembled around the predicates."""
    return '"' + name.replace('"', '""') + '"'


def ql(value: str) -> str:
    """Quote a string literal."""
    return "'" + value.replace("'", "''") + "'"


def text_e(name: str, ctx: Ctx) -> E:
    """The column as text (no cast when it already is a string)."""
    t = ctx.column_types.get(name, "string").lower()
    return col(name) if t in STRING_TYPES else cast(col(name), "VARCHAR")


def text(name: str, ctx: Ctx) -> str:
    """:func:`text_e` as DuckDB SQL (for the queries of other modules)."""
    return sql(text_e(name, ctx))


BLANK_STARTS = (("\u00a0", "\u00a1"), ("\u1680", "\u1681"), ("\u2000", "\u2060"), ("\u3000", "\u3001"))


def missing(v: E, ctx: Ctx) -> E:
    """NULL, blank or a placeholder. Cheap first tests (length; the first bytes compared as a
    string, no SUBSTRING) keep the TRIM off most rows: conjunctions are evaluated on the rows
    that still qualify. A long value counts as blank when it trims to ''; it then starts with
    a character TRIM removes (space, U+00A0, U+1680, U+2000–U+200A, U+202F, U+205F, U+3000),
    so the TRIM runs only on values that start with a byte below '!' or with a character in
    one of the ranges ['\u00a0', '\u00a1'), ['\u1680', '\u1681'), ['\u2000', '\u2060'),
    ['\u3000', '\u3001'). A non-text column (``CAST(… AS VARCHAR)``) can only be NULL and is
    tested without the cast."""
    if isinstance(v, exp.Cast) and not isinstance(v, exp.TryCast) and v.to.is_type("varchar", "text"):
        return paren(is_null(c(v.this)))
    short = max((len(p) for p in ctx.placeholders), default=0) + 4
    starts = or_(lt(c(v), "!"), *(paren(and_(ge(c(v), a), lt(c(v), b))) for a, b in BLANK_STARTS))
    return paren(or_(is_null(c(v)),
                     paren(and_(le(fn("LENGTH", c(v)), short), isin(fn("TRIM", c(v)), ("", *ctx.placeholders)))),
                     paren(and_(paren(starts), eq(fn("TRIM", c(v)), "")))))


def is_missing(v: str, ctx: Ctx) -> str:
    """:func:`missing` over a DuckDB SQL expression, as DuckDB SQL (for other modules' queries)."""
    return sql(missing(sqlglot.parse_one(v, read="duckdb"), ctx))


def fails_when_invalid(v: E, valid: E, ctx: Ctx) -> E:
    """Present and not valid (NULL from the validity test counts as invalid)."""
    return paren(and_(not_(missing(v, ctx)), not_(coalesce(valid, exp.false()))))


def matches(v: E, pattern: str) -> E:
    return exp.RegexpLike(this=c(v), expression=lit(pattern))


def regex(v: str, pattern: str) -> str:
    """:func:`matches` over a DuckDB SQL expression, as DuckDB SQL."""
    return sql(matches(sqlglot.parse_one(v, read="duckdb"), pattern))


# -- check digits in SQL -------------------------------------------------------------------

def id_check_char_e(digits17: E) -> E:
    """ISO 7064 MOD 11-2 check character of 17 digits held as a BIGINT (integer arithmetic only)."""
    terms = total(*(mul(paren(mod(paren(idiv(c(digits17), 10 ** (16 - i))), 10)), w)
                    for i, w in enumerate(ID_WEIGHTS)))
    return substr(lit("10X98765432"), total(paren(mod(paren(terms), 11)), num(1)), 1)


def id_check_char(digits17: str) -> str:
    """:func:`id_check_char_e` over a DuckDB SQL expression, as DuckDB SQL."""
    return sql(id_check_char_e(sqlglot.parse_one(digits17, read="duckdb")))


def weighted_mod_terms(chunk: E, weights: tuple[int, ...], modulus: int, div: str = "/") -> E:
    """Σ digit·weight (mod ``modulus``) over the decimal digits of a DOUBLE ``chunk`` (most
    significant first), without extracting digits: digit_j = f_j − 10·f_{j+1} with
    f_j = floor(chunk / 10^j), so the sum telescopes to Σ f_j·(w_j − 10·w_{j−1}). With
    ``div="//"`` the chunk is an integer and integer division is used.

    >>> sql(weighted_mod_terms(ref("a"), (1, 2), 11))  # 1·d1 + 2·d0 = 2·a + (1 − 20)·floor(a/10)
    '(a) * 2 + FLOOR(a / 10) * 3'
    """
    ws = list(reversed(weights))  # ws[j] = weight of the 10^j place
    terms = []
    for j, w in enumerate(ws):
        k = (w - 10 * (ws[j - 1] if j else 0)) % modulus
        f: E
        if j == 0:
            f = paren(c(chunk))
        elif div == "/":
            f = fn("FLOOR", exp.Div(this=c(chunk), expression=num(10 ** j)))
        else:
            f = paren(idiv(c(chunk), 10 ** j))
        if k:
            terms.append(mul(f, k))
    return total(*terms)


def id_birth_ok(v: E, as_of: dt.date, legacy: bool = False) -> E:
    s = (concat("19", substr(c(v), 7, 2), "-", substr(c(v), 9, 2), "-", substr(c(v), 11, 2)) if legacy
         else concat(substr(c(v), 7, 4), "-", substr(c(v), 11, 2), "-", substr(c(v), 13, 2)))
    return between(try_cast(s, "DATE"), date_lit("1880-01-01"), date_lit(as_of.isoformat()))


def ymd_ok(ymd: E, as_of: dt.date) -> E:
    """An integer YYYYMMDD names a real day between 1880-01-01 and ``as_of`` (integer arithmetic only)."""
    y = paren(idiv(c(ymd), 10000))
    m = paren(mod(paren(idiv(c(ymd), 100)), 100))
    d = paren(mod(c(ymd), 100))
    leap = paren(or_(paren(and_(eq(mod(c(y), 4), 0), exp.NEQ(this=mod(c(y), 100), expression=num(0)))),
                     eq(mod(c(y), 400), 0)))
    last = case((isin(c(m), (4, 6, 9, 11)), num(30)),
                (eq(c(m), 2), case((leap, num(29)), default=num(28))), default=num(31))
    return and_(between(c(ymd), 18800101, int(as_of.strftime("%Y%m%d"))), between(c(m), 1, 12),
                between(d, 1, last))


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
    v = text_e(r.column, ctx)
    region = f"__h{i}_r"
    digits = weighted_mod_terms(ref(region), USCC_WEIGHTS[2:8], 31)
    letters = [mul(fn("STRPOS", USCC_ALPHABET, substr(c(v), k, 1)), USCC_WEIGHTS[k - 1])
               for k in USCC_LETTER_POSITIONS]
    offset = sum(USCC_WEIGHTS[k - 1] for k in USCC_LETTER_POSITIONS) + 1  # the −1 of every STRPOS, check incl.
    check = fn("STRPOS", USCC_ALPHABET, substr(c(v), 18, 1))
    whole = sub(total(digits, *letters, check), offset)
    valid = and_(matches(v, USCC_SHAPE_RE), eq(mod(paren(whole), 31), 0))
    helpers = ((region, try_cast(substr(c(v), 3, 6), "DOUBLE")),)
    return RowCheck(r.key, fails_when_invalid(v, valid, ctx), _sample(v), helpers, present=True)


def org_code_ok(v: E) -> E:
    s = fn("REPLACE", fn("UPPER", c(v)), "-", "")
    terms = total(*(mul(paren(sub(fn("STRPOS", ORG_ALPHABET, substr(c(s), i + 1, 1)), 1)), w)
                    for i, w in enumerate(ORG_WEIGHTS)))
    pos = total(sub(num(11), paren(mod(paren(terms), 11))), num(1))
    return and_(matches(fn("UPPER", c(v)), F.ORG_CODE_RE), eq(substr(lit("0123456789X0"), pos, 1), substr(c(s), 9, 1)))


def luhn_ok(v: E) -> E:
    """Luhn over 12–19 digits: doubled digits looked up in '0246813579'."""
    terms = []
    for k in range(19):
        d = substr(c(v), sub(fn("LENGTH", c(v)), k), 1)
        val = (try_cast(substr(lit("0246813579"), total(try_cast(d, "INTEGER"), num(1)), 1), "INTEGER") if k % 2
               else try_cast(d, "INTEGER"))
        terms.append(case((exp.GT(this=fn("LENGTH", c(v)), expression=num(k)), val), default=num(0)))
    return and_(matches(v, F.BANK_CARD_RE), eq(mod(paren(total(*terms)), 10), 0))


# -- builders per rule type ------------------------------------------------------------------

Builder = Callable[[Any, int, Ctx], RowCheck]


def _sample(v: E) -> E:
    return c(v)


def _multi_sample(cols: tuple[str, ...] | list[str], ctx: Ctx) -> E:
    return fn("CONCAT_WS", " | ", *(coalesce(text_e(x, ctx), lit("∅")) for x in cols))


def b_not_null(r: R.NotNull, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    cond = missing(v, ctx) if r.blank_is_null else paren(is_null(col(r.column)))
    return RowCheck(r.key, cond, _sample(v))


def b_required(r: R.Required, i: int, ctx: Ctx) -> RowCheck:
    cond = paren(or_(*(missing(text_e(x, ctx), ctx) for x in r.columns)))
    return RowCheck(r.key, cond, _multi_sample(r.columns, ctx))


def id_helpers(v: E) -> tuple[tuple[str, E], ...]:
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
    n, d = ref(id_alias(v, "n")), ref(id_alias(v, "d"))
    hi, lo, ymd = id_alias(v, "hi"), id_alias(v, "lo"), id_alias(v, "ymd")

    def guard() -> E:
        return and_(eq(fn("LENGTH", c(v)), 18), ge(c(v), "1"), eq(fn("STRPOS", c(v), "e"), 0),
                    eq(fn("STRPOS", c(v), "E"), 0))

    def ok() -> E:
        return ge(c(d), 10000000000000000)

    def full() -> E:
        return ge(c(n), 100000000000000000)

    return ((id_alias(v, "n"), case((guard(), try_cast(c(v), "BIGINT")))),
            (id_alias(v, "d"), case((full(), idiv(c(n), 10)),
                                    (and_(guard(), isin(fn("RIGHT", c(v), 1), ("X", "x"))),
                                     try_cast(fn("LEFT", c(v), 17), "BIGINT")))),
            (id_alias(v, "c"), case((full(), mod(c(n), 10)), default=num(10))),
            (hi, case((ok(), cast(idiv(c(d), 1000000000), "DOUBLE")))),
            (lo, case((ok(), cast(mod(c(d), 1000000000), "DOUBLE")))),
            (ymd, case((ok(), cast(mod(paren(idiv(c(d), 1000)), 100000000), "INTEGER")))))


def id_alias(v: E, part: str) -> str:
    """A helper name per ID column (the same for every rule on that column)."""
    return f"__id_{hashlib.sha1(sql(v).encode()).hexdigest()[:10]}_{part}"


def id_checksum_terms(v: E) -> E:
    """Σ digit·weight (≡ mod 11) of the 17 digits, from the helper columns ``hi`` (first 8
    digits) and ``lo`` (last 9) held as DOUBLEs: the telescoped sums of
    :func:`weighted_mod_terms` (FLOOR of a DOUBLE quotient is exact below 2^53, and DOUBLE
    division is much cheaper than 64-bit integer division)."""
    hi, lo = ref(id_alias(v, "hi")), ref(id_alias(v, "lo"))
    return total(weighted_mod_terms(hi, ID_WEIGHTS[:8], 11), weighted_mod_terms(lo, ID_WEIGHTS[8:], 11))


def b_cn_id(r: R.CnId, i: int, ctx: Ctx) -> RowCheck:
    """18 digits (the last may be X): date and check digit by integer arithmetic on the shared
    helpers, computed before the region join (after it only booleans are combined); the check
    holds when Σ digit·weight + check value ≡ 1 (mod 11)."""
    v = text_e(r.column, ctx)
    d, k, ymd = (ref(id_alias(v, p)) for p in ("d", "c", "ymd"))
    miss, ok18, ok15, tot = id_alias(v, "m"), f"__h{i}_ok", f"__h{i}_ok15", f"__h{i}_sum"
    tot_c = ref(tot)
    helpers = [*id_helpers(v), (miss, missing(v, ctx)),
               (tot, total(id_checksum_terms(v), k)),
               (ok18, coalesce(and_(ge(d, 10000000000000000), ymd_ok(ymd, ctx.as_of),
                                    eq(sub(c(tot_c), mul(num(11), fn("FLOOR", exp.Div(this=c(tot_c),
                                                                                   expression=num(11))))), 1)),
                               exp.false()))]
    joins: tuple[Join, ...] = ()
    region18: E = exp.true()
    region15: E = exp.true()
    if r.check_region:
        joins = (Join(f"__j{i}", REGIONS_TABLE, "code", cast(idiv(ref(id_alias(v, "d")), 100000000000), "INTEGER"),
                      key_type="INTEGER"),)
        region18 = exp.not_(is_null(ref("__k", f"__j{i}")))
        joins += (Join(f"__j{i}_15", REGIONS_TABLE, "code", substr(c(v), 1, 6)),) if r.allow_15 else ()
        region15 = exp.not_(is_null(ref("__k", f"__j{i}_15")))
    valid: E = paren(and_(ref(ok18), region18))
    if r.allow_15:
        helpers.append((ok15, coalesce(and_(matches(v, F.RESIDENT_ID15_RE), id_birth_ok(v, ctx.as_of, legacy=True)),
                                       exp.false())))
        valid = or_(valid, paren(and_(ref(ok15), region15)))
    fails = paren(and_(not_(ref(miss)), not_(coalesce(valid, exp.false()))))
    return RowCheck(r.key, fails, _sample(v), tuple(helpers), joins, present=True)


def b_simple(valid: Callable[[E], E]) -> Builder:
    def build(r: Any, i: int, ctx: Ctx) -> RowCheck:
        v = text_e(r.column, ctx)
        return RowCheck(r.key, fails_when_invalid(v, paren(valid(v)), ctx), _sample(v), present=True)

    return build


def _nospace(v: E) -> E:
    return fn("REPLACE", c(v), " ", "")


FORMAT_VALID: dict[str, Callable[[E], E]] = {
    "mobile": lambda v: matches(v, F.MOBILE_SPACED_RE),
    "landline": lambda v: matches(_nospace(v), F.LANDLINE_RE),
    "phone": lambda v: or_(matches(_nospace(v), F.MOBILE_RE), matches(_nospace(v), F.LANDLINE_RE)),
    "email": lambda v: matches(v, F.EMAIL_RE),
    "postal_code": lambda v: matches(v, F.POSTAL_RE),
}


def b_format(r: R.Format, i: int, ctx: Ctx) -> RowCheck:
    return b_simple(FORMAT_VALID[r.format])(r, i, ctx)


def b_region_code(r: R.RegionCode, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    j = Join(f"__j{i}", REGIONS_TABLE if r.historical else REGIONS_TABLE + "_current", "code", v)
    valid = paren(and_(matches(v, "^[0-9]{6}$"), exp.not_(is_null(ref("__k", f"__j{i}")))))
    return RowCheck(r.key, fails_when_invalid(v, valid, ctx), _sample(v), (), (j,), present=True)


def date_valid(v: E, timestamp: bool) -> E:
    if timestamp:
        return and_(matches(v, F.ISO_TIMESTAMP_RE), exp.not_(is_null(try_cast(c(v), "TIMESTAMP"))))
    return and_(matches(v, F.ISO_DATE_RE), exp.not_(is_null(try_cast(c(v), "DATE"))))


def b_date(r: R.DateValid, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    valid = date_valid(v, r.timestamp)
    if r.min:
        valid = and_(valid, ge(try_cast(substr(c(v), 1, 10), "DATE"), date_lit(r.min)))
    if r.max:
        valid = and_(valid, le(try_cast(substr(c(v), 1, 10), "DATE"), date_lit(r.max)))
    return RowCheck(r.key, fails_when_invalid(v, paren(valid), ctx), _sample(v), present=True)


def b_enum(r: R.Enum, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    return RowCheck(r.key, fails_when_invalid(v, isin(c(v), r.values), ctx), _sample(v), present=True)


NUMBER_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
INTEGER_RE = r"^[+-]?[0-9]+$"


def number(name: str, ctx: Ctx) -> E:
    t = ctx.column_types.get(name, "string").lower()
    if t.startswith(("int", "uint", "float", "double", "decimal", "halffloat")):
        return cast(col(name), "DOUBLE")
    return try_cast(fn("TRIM", text_e(name, ctx)), "DOUBLE")


def b_range(r: R.Range, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    n = number(r.column, ctx)
    conds: list[E] = [exp.not_(is_null(c(n)))]
    if r.min is not None:
        conds.append(ge(c(n), num(r.min)))
    if r.max is not None:
        conds.append(le(c(n), num(r.max)))
    return RowCheck(r.key, fails_when_invalid(v, paren(and_(*conds)), ctx), _sample(v), present=True)


def b_regex(r: R.Regex, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    return RowCheck(r.key, fails_when_invalid(v, matches(v, r.pattern), ctx), _sample(v), present=True)


def b_length(r: R.Length, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    conds = [ge(fn("LENGTH", c(v)), r.min) if r.min is not None else exp.true()]
    if r.max is not None:
        conds.append(le(fn("LENGTH", c(v)), r.max))
    return RowCheck(r.key, fails_when_invalid(v, paren(and_(*conds)), ctx), _sample(v), present=True)


BOOL_VALUES = ("true", "false", "True", "False", "TRUE", "FALSE", "1", "0", "是", "否", "Y", "N", "y", "n")


def b_data_type(r: R.DataTypeMatch, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    t = r.data_type
    valid_of: dict[str, Callable[[], E]] = {
        "N": lambda: matches(fn("TRIM", c(v)), NUMBER_RE), "Y": lambda: matches(fn("TRIM", c(v)), NUMBER_RE),
        "F": lambda: matches(fn("TRIM", c(v)), NUMBER_RE), "I": lambda: matches(fn("TRIM", c(v)), INTEGER_RE),
        "D": lambda: date_valid(substr(c(v), 1, 10), False), "T": lambda: date_valid(v, True),
        "L": lambda: isin(fn("TRIM", c(v)), BOOL_VALUES)}
    valid = valid_of[t]() if t in valid_of else exp.true()
    if r.length and t in ("C", "M", "N", "Y", "F", "I"):
        valid = and_(paren(valid), le(fn("LENGTH", c(v)), r.length))
    return RowCheck(r.key, fails_when_invalid(v, paren(valid), ctx), _sample(v), present=True)


def b_unique(r: R.Unique, i: int, ctx: Ctx) -> RowCheck:
    cnt = f"__h{i}_n"
    present = [not_(missing(text_e(x, ctx), ctx)) for x in r.columns]
    window = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col(x) for x in r.columns])
    return RowCheck(r.key, paren(and_(*present, exp.GT(this=ref(cnt), expression=num(1)))),
                    _multi_sample(r.columns, ctx), ((cnt, window),))


def flexible_date_e(v: E) -> E:
    """``YYYY-MM-DD`` or compact ``YYYYMMDD`` as a DATE (NULL otherwise)."""
    compact = concat(substr(c(v), 1, 4), "-", substr(c(v), 5, 2), "-", substr(c(v), 7, 2))
    return case((matches(v, "^[0-9]{8}$"), try_cast(compact, "DATE")),
                (matches(v, "^[0-9]{4}-[0-9]{2}-[0-9]{2}"), try_cast(substr(c(v), 1, 10), "DATE")))


def flexible_date(v: str) -> str:
    """:func:`flexible_date_e` over a DuckDB SQL expression, as DuckDB SQL."""
    return sql(flexible_date_e(sqlglot.parse_one(v, read="duckdb")))


def both_present(a: E, b: E, ctx: Ctx) -> list[E]:
    return [not_(missing(a, ctx)), not_(missing(b, ctx))]


def b_id_birth(r: R.IdBirth, i: int, ctx: Ctx) -> RowCheck:
    idv, b = text_e(r.id_column, ctx), text_e(r.birth_column, ctx)
    id_date = try_cast(concat(substr(c(idv), 7, 4), "-", substr(c(idv), 11, 2), "-", substr(c(idv), 13, 2)), "DATE")
    cond = and_(*both_present(idv, b, ctx), matches(idv, F.RESIDENT_ID_RE),
                coalesce(exp.NEQ(this=flexible_date_e(b), expression=id_date), exp.true()))
    return RowCheck(r.key, paren(cond), _multi_sample([r.id_column, r.birth_column], ctx))


MALE = ("男", "M", "m", "male", "Male", "1")
FEMALE = ("女", "F", "f", "female", "Female", "2", "0")


def b_id_sex(r: R.IdSex, i: int, ctx: Ctx) -> RowCheck:
    """The 17th digit's parity against the sex column; the parity comes from the shared ID
    helper when the first 17 characters are digits, from the character itself otherwise."""
    idv, s = text_e(r.id_column, ctx), text_e(r.sex_column, ctx)
    d = ref(id_alias(idv, "d"))
    digit = case((ge(c(d), 10000000000000000), mod(c(d), 2)),
                 default=mod(try_cast(substr(c(idv), 17, 1), "INTEGER"), 2))
    sex = case((isin(fn("TRIM", c(s)), MALE), exp.true()), (isin(fn("TRIM", c(s)), FEMALE), exp.false()))
    parity, miss = f"__h{i}_p", id_alias(idv, "m")
    cond = and_(not_(ref(miss)), not_(missing(s, ctx)), eq(fn("LENGTH", c(idv)), 18),
                exp.not_(is_null(ref(parity))),
                coalesce(exp.NEQ(this=paren(sex), expression=paren(eq(ref(parity), 1))), exp.true()))
    return RowCheck(r.key, paren(cond), _multi_sample([r.id_column, r.sex_column], ctx),
                    (*id_helpers(idv), (miss, missing(idv, ctx)), (parity, digit)))


def b_id_region(r: R.IdRegion, i: int, ctx: Ctx) -> RowCheck:
    idv, g = text_e(r.id_column, ctx), text_e(r.region_column, ctx)
    n = {"province": 2, "city": 4, "county": 6}[r.level]
    cond = and_(*both_present(idv, g, ctx), matches(idv, "^[0-9]{6}"),
                exp.NEQ(this=substr(c(idv), 1, n), expression=substr(fn("TRIM", c(g)), 1, n)))
    return RowCheck(r.key, paren(cond), _multi_sample([r.id_column, r.region_column], ctx))


def _typed(name: str, as_type: str, ctx: Ctx) -> E:
    if as_type == "number":
        return number(name, ctx)
    if as_type == "date":
        return flexible_date_e(text_e(name, ctx))
    return text_e(name, ctx)


COMPARISONS: dict[str, type[exp.Binary]] = {"=": exp.EQ, "!=": exp.NEQ, "<>": exp.NEQ, "<": exp.LT, "<=": exp.LTE,
                                            ">": exp.GT, ">=": exp.GTE}


def b_compare(r: R.Compare, i: int, ctx: Ctx) -> RowCheck:
    a, b = text_e(r.left, ctx), text_e(r.right, ctx)
    op = COMPARISONS[r.op](this=_typed(r.left, r.as_type, ctx), expression=_typed(r.right, r.as_type, ctx))
    cond = and_(*both_present(a, b, ctx), not_(coalesce(op, exp.false())))
    return RowCheck(r.key, paren(cond), _multi_sample([r.left, r.right], ctx))


def b_reference(r: R.Reference, i: int, ctx: Ctx) -> RowCheck:
    v = text_e(r.column, ctx)
    table = ctx.ref_tables.get(r.key, f"__ref{i}")
    j = Join(f"__j{i}", table, r.ref_column, v)
    return RowCheck(r.key, fails_when_invalid(v, exp.not_(is_null(ref("__k", f"__j{i}"))), ctx), _sample(v), (),
                    (j,), present=True)


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
