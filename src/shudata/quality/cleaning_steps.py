"""Cleaning steps: typed specs in an explicit registry, each compiled to SQL over text values.

A value step maps one column's value to a new value (``expr``); the pipeline counts how
many values each step changed. Row steps (de-duplication) mark rows to drop. Everything
is DuckDB SQL generated for the target dialect by sqlglot — no Python per row.

>>> s = parse_step({"step": "map_values", "column": "所在市州", "mapping": {"阿坝州": "阿坝藏族羌族自治州"}})
>>> s.expr('"所在市州"')
'CASE "所在市州" WHEN \\'阿坝州\\' THEN \\'阿坝藏族羌族自治州\\' ELSE "所在市州" END'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shudata.core.config import MISSING_VALUES_DEFAULT
from shudata.core.errors import InvalidInput
from shudata.core.plugins import PluginManager, default_plugins
from shudata.quality.compile_exprs import id_check_char, ql, regex
from shudata.quality.rule_base import errors_text

FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
SPACES = r"[\s\x{00A0}\x{2000}-\x{200B}\x{3000}\x{FEFF}]+"
PUNCT = r"[\s\x{00A0}\x{2000}-\x{200B}\x{3000}[:punct:]（）【】《》「」『』，。、；：？！·—…“”‘’]+"
MOBILE_LOOSE = r"^(\+?86)?1[3-9][0-9]{9}$"


class StepBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step_name: ClassVar[str] = ""
    kind: ClassVar[Literal["value", "rows", "new_column", "include"]] = "value"
    step: str
    column: str = ""

    def columns_used(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> tuple[str, str]:
        return self.step_name, self.step_name

    def expr(self, v: str) -> str:
        """New value of the column, given its current value ``v`` (SQL)."""
        raise NotImplementedError


class ColumnsStep(StepBase):
    columns: list[str] = Field(min_length=1)

    def columns_used(self) -> tuple[str, ...]:
        return tuple(self.columns)


class Trim(ColumnsStep):
    step_name = "trim"
    step: Literal["trim"] = "trim"

    def describe(self) -> tuple[str, str]:
        return "去除首尾空白并合并连续空白（含全角空格）", "trim and collapse whitespace (full-width too)"

    def expr(self, v: str) -> str:
        return f"REGEXP_REPLACE(REGEXP_REPLACE({v}, {ql(SPACES)}, ' ', 'g'), '^ | $', '', 'g')"


class FullwidthToHalfwidth(ColumnsStep):
    step_name = "fullwidth"
    step: Literal["fullwidth"] = "fullwidth"

    def describe(self) -> tuple[str, str]:
        return "全角字符转半角", "full-width to half-width"

    def expr(self, v: str) -> str:
        return f"TRANSLATE({v}, {ql(FULL)}, {ql(HALF)})"


SERIAL_RE = r"^[1-9][0-9]{4}(\.0+)?$"
DATE_YMD = r"^([0-9]{4})\s*[年/.-]\s*([0-9]{1,2})\s*[月/.-]\s*([0-9]{1,2})\s*日?$"


class NormalizeDate(StepBase):
    """2018年1月4日, 2018/1/4, 2018.01.04, 20180104, Excel serial numbers → 2018-01-04."""

    step_name = "normalize_date"
    step: Literal["normalize_date"] = "normalize_date"
    excel_serial: bool = True

    def describe(self) -> tuple[str, str]:
        return "日期统一为 YYYY-MM-DD", "dates to YYYY-MM-DD"

    def expr(self, v: str) -> str:
        t = f"TRIM({v})"
        ymd = (f"REGEXP_EXTRACT({t}, {ql(DATE_YMD)}, 1) || '-' || LPAD(REGEXP_EXTRACT({t}, {ql(DATE_YMD)}, 2), 2, '0')"
               f" || '-' || LPAD(REGEXP_EXTRACT({t}, {ql(DATE_YMD)}, 3), 2, '0')")
        compact = f"SUBSTRING({t}, 1, 4) || '-' || SUBSTRING({t}, 5, 2) || '-' || SUBSTRING({t}, 7, 2)"
        serial = (f" WHEN {regex(t, SERIAL_RE)} THEN CAST(CAST('1899-12-30' AS DATE) + "
                  f"TRY_CAST(TRY_CAST({t} AS DOUBLE) AS INTEGER) AS VARCHAR)") if self.excel_serial else ""
        cand = (f"CASE WHEN {regex(t, DATE_YMD)} THEN {ymd} WHEN {regex(t, '^[0-9]{8}$')} THEN {compact}"
                f"{serial} END")
        return f"COALESCE(CAST(TRY_CAST({cand} AS DATE) AS VARCHAR), {v})"


class MissingValues(StepBase):
    """Placeholders (N/A, NULL, 无, 空, -, — …) and blank values → NULL, compared trimmed, full-width
    folded to half-width and lower-cased, as the ingest readers do
    (:mod:`shudata.lake.ingest.missing`). ``columns`` empty: every text column. The entry's
    saved pipeline :data:`INGEST_PIPELINE` holds the list its uploads use.

    >>> s = MissingValues(step="missing_values", values=["不详"], include_defaults=False)
    >>> s.tokens(), s.expr("v").startswith("CASE WHEN ")
    (['不详'], True)
    """

    step_name = "missing_values"
    step: Literal["missing_values"] = "missing_values"
    columns: list[str] = Field(default_factory=list, description="留空为所有文本列")
    values: list[str] = Field(default_factory=list, max_length=200, description="占位符，如 N/A、无、-")
    include_defaults: bool = Field(True, description="同时使用系统默认的占位符列表")

    def columns_used(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def describe(self) -> tuple[str, str]:
        shown = "、".join(self.tokens()[:8]) + ("…" if len(self.tokens()) > 8 else "")
        return f"占位符（{shown}）及空白改为缺失值", f"placeholders ({shown}) and blanks to NULL"

    def tokens(self, defaults: tuple[str, ...] = MISSING_VALUES_DEFAULT) -> list[str]:
        out: list[str] = []
        for t in (*(defaults if self.include_defaults else ()), *self.values):
            if t.strip() and t not in out:
                out.append(t)
        return out

    def expr(self, v: str) -> str:
        norm = (f"LOWER(REGEXP_REPLACE(TRANSLATE({v}, {ql(FULL)}, {ql(HALF)}), "
                f"{ql('^' + SPACES + '|' + SPACES + '$')}, '', 'g'))")
        keys = sorted({unicodedata.normalize("NFKC", t).strip().casefold() for t in self.tokens()} | {""})
        return f"CASE WHEN {norm} IN ({', '.join(ql(k) for k in keys)}) THEN NULL ELSE {v} END"


INGEST_PIPELINE = "入库缺失值"  # the saved pipeline whose missing_values step an entry's uploads use


# -- parse steps: text → typed value; a present value that does not parse quarantines its row ----------

CN_DIGITS = "零一二三四五六七八九"
CN_CAPITAL = "〇壹贰叁肆伍陆柒捌玖"
CN_D = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
UNIT_FACTORS: dict[str, float] = {"": 1.0, "十": 10.0, "百": 100.0, "千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6,
                                  "千万": 1e7, "亿": 1e8, "十亿": 1e9, "百亿": 1e10, "千亿": 1e11, "万亿": 1e12}
TARGET_UNITS: dict[str, float] = {"元": 1.0, "千元": 1e3, "万元": 1e4, "百万元": 1e6, "亿元": 1e8}
# ISO 4217 code ← how it is written (checked in this order: 港元 before 元, HK$ before $)
CURRENCIES: tuple[tuple[str, str], ...] = (
    ("HKD", r"港元|港币|港幣|HKD|HK\$"), ("USD", r"美元|美金|USD|US\$|\$"), ("EUR", r"欧元|歐元|EUR|€"),
    ("JPY", r"日元|日圆|JPY|円"), ("GBP", r"英镑|GBP|£"), ("MOP", r"澳门元|澳门币|澳元|MOP"),
    ("TWD", r"新台币|台币|TWD"), ("CNY", r"人民币|RMB|CNY|¥|￥|元"),
)
CURRENCY_WORDS = "|".join(p for _, p in CURRENCIES)
AMOUNT_ARABIC = r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(十万|百万|千万|十亿|百亿|千亿|万亿|十|百|千|万|亿)?$"
AMOUNT_CN = rf"^([{CN_D}十拾百佰千仟]+)(万亿|万|亿)?$"
CN_SMALL = (rf"^(?:([{CN_D}]?)([千仟]))?零?(?:([{CN_D}]?)([百佰]))?零?(?:([{CN_D}]?)([十拾]))?零?([{CN_D}]?)$")


def cn_digit(x: str) -> str:
    """One Chinese digit (一, 壹, 两, 〇 …) as an integer, NULL for ''."""
    return (f"CASE WHEN {x} = '' THEN NULL WHEN {x} = '两' THEN 2 "
            f"ELSE GREATEST(STRPOS({ql(CN_DIGITS)}, {x}), STRPOS({ql(CN_CAPITAL)}, {x})) - 1 END")


def cn_small(x: str) -> str:
    """A Chinese numeral below 10,000 (二十, 壹佰, 一千零五 …) as an integer, NULL when it is not one."""
    def g(i: int) -> str:
        return f"REGEXP_EXTRACT({x}, {ql(CN_SMALL)}, {i})"

    def place(digit: int, unit: int, factor: int) -> str:
        return f"(CASE WHEN {g(unit)} = '' THEN 0 ELSE COALESCE({cn_digit(g(digit))}, 1) * {factor} END)"

    total = f"{place(1, 2, 1000)} + {place(3, 4, 100)} + {place(5, 6, 10)} + COALESCE({cn_digit(g(7))}, 0)"
    return f"(CASE WHEN {regex(x, CN_SMALL)} AND {x} <> '' THEN {total} END)"


def _factor(unit_sql: str, table: dict[str, float]) -> str:
    whens = " ".join(f"WHEN {ql(k)} THEN {v!r}" for k, v in table.items())
    return f"(CASE {unit_sql} {whens} END)"


class ParseAmount(StepBase):
    """Chinese amounts with units and currencies → a number in ``unit`` plus an ISO 4217 currency
    column (CNY, USD, HKD, EUR, JPY, GBP, MOP, TWD): 50万元人民币, 人民币100万元, 30万美元, 100万港元,
    USD 30万, １２３．５万元 (full-width), 1,234.5万元 (thousands separators), 1.2亿元, 3千万元,
    壹佰万元, 二十万元 (Chinese numerals below 10,000 times 万/亿). A bare number is in
    ``default_unit`` and ``default_currency``; a number with 元 or a currency but no 万/亿 is in
    units of that currency. Currencies are not converted unless ``rates`` gives the value of one
    unit of a currency in ``default_currency`` (then the currency column says the converted one).
    Missing values (NULL, blank, N/A …) stay missing; a present value that does not parse
    (约100万, 100万以上) quarantines its row with the reason.

    >>> s = ParseAmount(step="parse_amount", column="注册资金")
    >>> s.target_name, s.currency_name, s.describe()[0]
    ('注册资金（万元）', '注册资金币种', '“注册资金”解析为金额（万元）与币种')
    """

    step_name = "parse_amount"
    step: Literal["parse_amount"] = "parse_amount"
    target: str | None = Field(None, max_length=100, description="金额列名；默认“列名（单位）”；与原列同名则替换原列")
    currency_column: str | None = Field(None, max_length=100, description="币种列名；默认“列名币种”")
    unit: Literal["元", "千元", "万元", "百万元", "亿元"] = Field("万元", description="结果金额的单位")
    default_unit: Literal["元", "千元", "万元", "百万元", "亿元"] = Field("万元", description="纯数字的单位")
    default_currency: str = Field("CNY", pattern=r"^[A-Z]{3}$", description="无币种时的币种（ISO 4217）")
    rates: dict[str, float] = Field(default_factory=dict, description="汇率：1 单位外币折合默认币种多少，给出才换算")

    @property
    def target_name(self) -> str:
        return self.target or f"{self.column}（{self.unit}）"

    @property
    def currency_name(self) -> str:
        return self.currency_column or f"{self.column}币种"

    def describe(self) -> tuple[str, str]:
        return (f"“{self.column}”解析为金额（{self.unit}）与币种",
                f"parse {self.column!r} into an amount ({self.unit}) and a currency")

    def reason(self, raw: str) -> tuple[str, str]:
        return (f"“{self.column}”的值“{raw[:60]}”无法解析为金额（可写作 50万元、30万美元、人民币100万元、壹佰万元）",
                f"{self.column!r}: {raw[:60]!r} is not an amount")

    def _text(self, v: str) -> str:
        half = f"TRANSLATE({v}, {ql(FULL + '，。')}, {ql(HALF + ',.')})"
        return f"REGEXP_REPLACE({half}, '[\\s,]|整$', '', 'g')"

    def currency_sql(self, v: str) -> str:
        t = self._text(v)
        whens = " ".join(f"WHEN REGEXP_MATCHES({t}, {ql('(?i)' + p)}) THEN {ql(code)}" for code, p in CURRENCIES)
        return f"(CASE {whens} ELSE {ql(self.default_currency)} END)"

    def amount_sql(self, v: str) -> str:
        """The amount in ``unit`` (DOUBLE), NULL when the value does not parse."""
        t = self._text(v)
        marked = f"REGEXP_MATCHES({t}, {ql('(?i)' + CURRENCY_WORDS)})"
        bare = f"REGEXP_REPLACE({t}, {ql('(?i)' + CURRENCY_WORDS)}, '', 'g')"
        a_num = f"TRY_CAST(REGEXP_EXTRACT({bare}, {ql(AMOUNT_ARABIC)}, 1) AS DOUBLE)"
        a_unit = f"REGEXP_EXTRACT({bare}, {ql(AMOUNT_ARABIC)}, 2)"
        c_num = f"CAST({cn_small(f'REGEXP_EXTRACT({bare}, {ql(AMOUNT_CN)}, 1)')} AS DOUBLE)"
        c_unit = f"REGEXP_EXTRACT({bare}, {ql(AMOUNT_CN)}, 2)"
        default = TARGET_UNITS[self.default_unit]

        def scaled(num: str, unit: str) -> str:
            bare_factor = f"(CASE WHEN {marked} THEN 1.0 ELSE {default!r} END)"
            return f"{num} * (CASE WHEN {unit} = '' THEN {bare_factor} ELSE {_factor(unit, UNIT_FACTORS)} END)"

        yuan = (f"(CASE WHEN {regex(bare, AMOUNT_ARABIC)} THEN {scaled(a_num, a_unit)} "
                f"WHEN {regex(bare, AMOUNT_CN)} THEN {scaled(c_num, c_unit)} END)")
        if self.rates:
            cur = self.currency_sql(v)
            rate = " ".join(f"WHEN {ql(k)} THEN {float(r)!r}" for k, r in self.rates.items())
            yuan = f"({yuan} * (CASE {cur} {rate} ELSE 1.0 END))"
        return f"({yuan} / {TARGET_UNITS[self.unit]!r})"

    def converted_currency_sql(self, v: str) -> str:
        cur = self.currency_sql(v)
        if not self.rates:
            return cur
        codes = ", ".join(ql(k) for k in self.rates)
        return f"(CASE WHEN {cur} IN ({codes}) THEN {ql(self.default_currency)} ELSE {cur} END)"


DATE_PARTS = r"^([0-9]{4})[年/.-]([0-9]{1,2})[月/.-]([0-9]{1,2})日?$"
DATE_CN = r"^([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日?$"
DATE_TIME_TAIL = r"(T|\s+)[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$"
EXCEL_SERIAL = r"^[0-9]{1,5}(\.[0-9]+)?$"


def cn_1_to_31(x: str) -> str:
    """五 → 5, 十 → 10, 十二 → 12, 二十五 → 25, 三十一 → 31 (NULL otherwise)."""
    tr = "'〇零一二三四五六七八九', '00123456789'"
    tens = f"REGEXP_EXTRACT({x}, '^(.?)十(.?)$', 1)"
    ones = f"REGEXP_EXTRACT({x}, '^(.?)十(.?)$', 2)"
    with_ten = (f"COALESCE(TRY_CAST(NULLIF(TRANSLATE({tens}, {tr}), '') AS INTEGER), 1) * 10 + "
                f"COALESCE(TRY_CAST(NULLIF(TRANSLATE({ones}, {tr}), '') AS INTEGER), 0)")
    return (f"(CASE WHEN REGEXP_MATCHES({x}, '^.?十.?$') THEN {with_ten} "
            f"WHEN LENGTH({x}) = 1 THEN TRY_CAST(TRANSLATE({x}, {tr}) AS INTEGER) END)")


class ParseDate(StepBase):
    """Dates written as 1993年1月5日, 1993.1.5, 1993/1/5, 1993-01-05, 19930105, 1993-01-05 08:00,
    一九九三年一月五日 or an Excel serial number (1900 date system, with its 1900-02-29 bug: 60
    is refused, below 60 counts from 1899-12-31) → DATE. Excel serials are 1–5 digit numbers
    (``excel_serial``); a 4-digit number from 1000 to 2999 is a year, not a date, and is refused.
    Missing values stay missing; a present value that is no date (1993-02-30, 1993年) quarantines
    its row with the reason.

    >>> ParseDate(step="parse_date", column="注册日期").describe()[0]
    '“注册日期”解析为日期'
    """

    step_name = "parse_date"
    step: Literal["parse_date"] = "parse_date"
    target: str | None = Field(None, max_length=100, description="日期列名；默认替换原列")
    excel_serial: bool = Field(True, description="把 1–5 位数字当作 Excel 日期序列号（1900 日期系统）")

    @property
    def target_name(self) -> str:
        return self.target or self.column

    def describe(self) -> tuple[str, str]:
        return f"“{self.column}”解析为日期", f"parse {self.column!r} as a date"

    def reason(self, raw: str) -> tuple[str, str]:
        return (f"“{self.column}”的值“{raw[:60]}”不是有效日期（可写作 1993-01-05、1993年1月5日、19930105）",
                f"{self.column!r}: {raw[:60]!r} is not a valid date")

    def date_sql(self, v: str) -> str:
        half = f"TRANSLATE({v}, {ql(FULL)}, {ql(HALF)})"
        t = f"REGEXP_REPLACE(REGEXP_REPLACE(TRIM({half}), {ql(DATE_TIME_TAIL)}, ''), '\\s', '', 'g')"

        def ymd(y: str, m: str, d: str) -> str:
            return (f"TRY_CAST(CAST({y} AS VARCHAR) || '-' || LPAD(CAST({m} AS VARCHAR), 2, '0') || '-' || "
                    f"LPAD(CAST({d} AS VARCHAR), 2, '0') AS DATE)")

        parts = ymd(*(f"REGEXP_EXTRACT({t}, {ql(DATE_PARTS)}, {i})" for i in (1, 2, 3)))
        compact = ymd(f"SUBSTRING({t}, 1, 4)", f"SUBSTRING({t}, 5, 2)", f"SUBSTRING({t}, 7, 2)")
        cn = ymd(f"TRANSLATE(REGEXP_EXTRACT({t}, {ql(DATE_CN)}, 1), '〇零一二三四五六七八九', '00123456789')",
                 cn_1_to_31(f"REGEXP_EXTRACT({t}, {ql(DATE_CN)}, 2)"),
                 cn_1_to_31(f"REGEXP_EXTRACT({t}, {ql(DATE_CN)}, 3)"))
        whens = [f"WHEN {regex(t, DATE_PARTS)} THEN {parts}",
                 f"WHEN {regex(t, '^(1[0-9]|2[0-9])[0-9]{6}$')} THEN {compact}",
                 f"WHEN {regex(t, DATE_CN)} THEN {cn}"]
        if self.excel_serial:
            n = f"CAST(FLOOR(TRY_CAST({t} AS DOUBLE)) AS INTEGER)"
            whens.append(f"WHEN {regex(t, EXCEL_SERIAL)} AND NOT {regex(t, '^[12][0-9]{3}$')} THEN "
                         f"(CASE WHEN {n} BETWEEN 1 AND 59 THEN CAST(DATE '1899-12-31' + {n} AS DATE) "
                         f"WHEN {n} > 60 THEN CAST(DATE '1899-12-30' + {n} AS DATE) END)")
        return f"(CASE {' '.join(whens)} END)"


class NormalizePhone(StepBase):
    step_name = "normalize_phone"
    step: Literal["normalize_phone"] = "normalize_phone"

    def describe(self) -> tuple[str, str]:
        return "手机号去除空格、连字符和 +86 前缀", "mobile numbers without spaces, hyphens and +86"

    def expr(self, v: str) -> str:
        c = f"REGEXP_REPLACE({v}, '[ ()（）-]', '', 'g')"
        return f"CASE WHEN {regex(c, MOBILE_LOOSE)} THEN RIGHT({c}, 11) ELSE {v} END"


class MapValues(StepBase):
    step_name = "map_values"
    step: Literal["map_values"] = "map_values"
    mapping: dict[str, str] = Field(min_length=1, max_length=100_000)

    def describe(self) -> tuple[str, str]:
        return f"按映射表标准化取值（{len(self.mapping)} 项）", f"standardise values by a mapping ({len(self.mapping)})"

    def expr(self, v: str) -> str:
        whens = " ".join(f"WHEN {ql(k)} THEN {ql(x)}" for k, x in self.mapping.items())
        return f"CASE {v} {whens} ELSE {v} END"


class UpperIdCheck(StepBase):
    step_name = "upper_id"
    step: Literal["upper_id"] = "upper_id"

    def describe(self) -> tuple[str, str]:
        return "身份证号末位 x 改为大写 X", "upper-case the ID check character x"

    def expr(self, v: str) -> str:
        return f"CASE WHEN {regex(v, '^[0-9]{17}x$')} THEN UPPER({v}) ELSE {v} END"


class Id15To18(StepBase):
    step_name = "id_15_to_18"
    step: Literal["id_15_to_18"] = "id_15_to_18"

    def describe(self) -> tuple[str, str]:
        return "15 位身份证号升级为 18 位", "upgrade 15-digit IDs to 18 digits"

    def expr(self, v: str) -> str:
        first17 = f"(SUBSTRING({v}, 1, 6) || '19' || SUBSTRING({v}, 7, 9))"
        d = f"TRY_CAST({first17} AS BIGINT)"
        return f"CASE WHEN {regex(v, '^[0-9]{15}$')} THEN {first17} || {id_check_char(d)} ELSE {v} END"


class RegionToCode(StepBase):
    """Region names (current, short or historical) → 6-digit 行政区划 code, into ``target``."""

    step_name = "region_to_code"
    kind = "new_column"
    step: Literal["region_to_code"] = "region_to_code"
    target: str = Field(min_length=1, max_length=100)
    within: str | None = Field(None, pattern=r"^[0-9]{2,6}$", description="限定的上级区划代码前缀，如 51")

    def describe(self) -> tuple[str, str]:
        return f"区划名称转为代码，写入“{self.target}”", f"region names to codes into {self.target!r}"


class CodeToRegion(StepBase):
    step_name = "code_to_region"
    kind = "new_column"
    step: Literal["code_to_region"] = "code_to_region"
    target: str = Field(min_length=1, max_length=100)

    def describe(self) -> tuple[str, str]:
        return f"区划代码转为名称，写入“{self.target}”", f"region codes to names into {self.target!r}"


class Split(StepBase):
    step_name = "split"
    kind = "new_column"
    step: Literal["split"] = "split"
    separator: str = Field(min_length=1, max_length=10)
    into: list[str] = Field(min_length=2, max_length=20)

    def describe(self) -> tuple[str, str]:
        return f"按“{self.separator}”拆分为 {'、'.join(self.into)}", f"split on {self.separator!r}"


class Merge(StepBase):
    step_name = "merge"
    kind = "new_column"
    step: Literal["merge"] = "merge"
    columns: list[str] = Field(min_length=2)
    separator: str = ""
    target: str = Field(min_length=1, max_length=100)

    def columns_used(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def describe(self) -> tuple[str, str]:
        return f"合并 {'、'.join(self.columns)} 为“{self.target}”", f"merge into {self.target!r}"


class Dedupe(StepBase):
    """Drop exact duplicates of the key columns (all columns when empty), keeping one row."""

    step_name = "dedupe"
    kind = "rows"
    step: Literal["dedupe"] = "dedupe"
    columns: list[str] = Field(default_factory=list)

    def columns_used(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def describe(self) -> tuple[str, str]:
        return "精确去重", "exact de-duplication"


class DedupeFuzzy(StepBase):
    """Drop rows whose key (OpenRefine key collision) repeats an earlier row's: the fingerprint
    key, or the n-gram fingerprint (``method: ngram``, ``n`` characters per gram)."""

    step_name = "dedupe_fuzzy"
    kind = "rows"
    step: Literal["dedupe_fuzzy"] = "dedupe_fuzzy"
    method: Literal["fingerprint", "ngram"] = "fingerprint"
    n: int = Field(2, ge=1, le=6, description="n-gram 的字符数（仅 method=ngram）")

    def describe(self) -> tuple[str, str]:
        if self.method == "ngram":
            return (f"按“{self.column}”的 {self.n}-gram 指纹键模糊去重",
                    f"fuzzy de-duplication on the {self.n}-gram fingerprint of {self.column!r}")
        return f"按“{self.column}”的指纹键模糊去重", f"fuzzy de-duplication on the fingerprint of {self.column!r}"

    def key(self, v: str) -> str:
        return fuzzy_key(v, self.method, self.n)


class Include(StepBase):
    """Run another saved pipeline of the same entry here (cycles are refused when saved)."""

    step_name = "pipeline"
    kind = "include"
    step: Literal["pipeline"] = "pipeline"
    name: str = Field(min_length=1, max_length=80)

    def columns_used(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> tuple[str, str]:
        return f"执行清洗流程“{self.name}”", f"run pipeline {self.name!r}"


def fingerprint(v: str) -> str:
    """OpenRefine-style key: half-width, lower case, punctuation and whitespace removed."""
    return f"REGEXP_REPLACE(LOWER(TRANSLATE({v}, {ql(FULL)}, {ql(HALF)})), {ql(PUNCT)}, '', 'g')"


def ngram_fingerprint(v: str, n: int = 2) -> str:
    """OpenRefine's n-gram fingerprint: the distinct ``n``-character grams of the normalised value
    (:func:`fingerprint`), sorted and joined, so values that differ by the order of their parts,
    a repeated part or the spacing inside collide. A value shorter than ``n`` is its own key.

    >>> ngram_fingerprint("v", 2).startswith("ARRAY_TO_STRING(LIST_SORT(LIST_DISTINCT(LIST_TRANSFORM(")
    True
    """
    s = fingerprint(v)
    grams = f"RANGE(1, GREATEST(LENGTH({s}) - {int(n)} + 2, 2))"
    each = f"lambda __i: SUBSTRING({s}, __i, {int(n)})"
    return f"ARRAY_TO_STRING(LIST_SORT(LIST_DISTINCT(LIST_TRANSFORM({grams}, {each}))), '')"


FUZZY_METHODS = ("fingerprint", "ngram")


def fuzzy_key(v: str, method: str = "fingerprint", n: int = 2) -> str:
    """The clustering key of ``method`` (``fingerprint`` or ``ngram``) over the SQL value ``v``."""
    if method == "ngram":
        return ngram_fingerprint(v, n)
    if method == "fingerprint":
        return fingerprint(v)
    raise InvalidInput(f"未知的聚类方法“{method}”；可用：{'、'.join(FUZZY_METHODS)}",
                       f"Unknown clustering method {method!r}; use one of {', '.join(FUZZY_METHODS)}",
                       code="cluster_unknown_method")


BUILTIN_STEPS: tuple[type[StepBase], ...] = (
    Trim, FullwidthToHalfwidth, NormalizeDate, MissingValues, ParseAmount, ParseDate, NormalizePhone,
    MapValues, UpperIdCheck, Id15To18, RegionToCode, CodeToRegion, Split, Merge, Dedupe, DedupeFuzzy, Include,
)


def step_types(plugins: PluginManager | None = None) -> Mapping[str, type[StepBase]]:
    """The cleaning step types of ``plugins`` (default: the built-ins) by ``step_name``: what the
    ``quality_cleaning_step_types`` hook returns (built-ins: :data:`BUILTIN_STEPS`), gathered once
    per manager."""
    return (plugins or default_plugins()).types_by_name("quality_cleaning_step_types", "step_name")


def parse_step(data: Any, *, plugins: PluginManager | None = None) -> StepBase:
    """A typed step from a dict; ``InvalidInput`` naming the problem otherwise (``plugins``:
    whose step types, default the built-ins)."""
    if isinstance(data, StepBase):
        return data
    if not isinstance(data, dict) or "step" not in data:
        raise InvalidInput("每个清洗步骤须是含 step 字段的对象", "Each cleaning step needs a 'step' field",
                           code="step_invalid")
    types = step_types(plugins)
    cls = types.get(str(data["step"]))
    if cls is None:
        raise InvalidInput(f"未知的清洗步骤“{data['step']}”；可用：{'、'.join(sorted(types))}",
                           f"Unknown cleaning step {data['step']!r}", code="step_unknown_type")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"清洗步骤“{data['step']}”有误：{errors_text(exc)}",
                           f"Cleaning step {data['step']!r} is invalid: {exc}", code="step_invalid") from exc
