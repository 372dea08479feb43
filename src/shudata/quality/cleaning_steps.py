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
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shudata.core.config import MISSING_VALUES_DEFAULT
from shudata.core.errors import InvalidInput
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


STEP_TYPES: dict[str, type[StepBase]] = {}


def register_step(cls: type[StepBase]) -> type[StepBase]:
    if not cls.step_name or cls.step_name in STEP_TYPES:
        raise ValueError(f"step {cls.step_name!r} missing or registered twice")
    STEP_TYPES[cls.step_name] = cls
    return cls


for _cls in (Trim, FullwidthToHalfwidth, NormalizeDate, MissingValues, NormalizePhone, MapValues, UpperIdCheck,
             Id15To18, RegionToCode, CodeToRegion, Split, Merge, Dedupe, DedupeFuzzy, Include):
    register_step(_cls)


def parse_step(data: Any) -> StepBase:
    """A typed step from a dict; ``InvalidInput`` naming the problem otherwise."""
    if isinstance(data, StepBase):
        return data
    if not isinstance(data, dict) or "step" not in data:
        raise InvalidInput("每个清洗步骤须是含 step 字段的对象", "Each cleaning step needs a 'step' field",
                           code="step_invalid")
    cls = STEP_TYPES.get(str(data["step"]))
    if cls is None:
        raise InvalidInput(f"未知的清洗步骤“{data['step']}”；可用：{'、'.join(sorted(STEP_TYPES))}",
                           f"Unknown cleaning step {data['step']!r}", code="step_unknown_type")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"清洗步骤“{data['step']}”有误：{errors_text(exc)}",
                           f"Cleaning step {data['step']!r} is invalid: {exc}", code="step_invalid") from exc
