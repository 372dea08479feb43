"""The operator contract: a typed, frozen spec that compiles to a sqlglot expression.

Every operator documents which GB/T 37964-2019 technique it is and whether it is
reversible; ``accepts`` names the column type families it can be applied to. Operators
that SQL cannot express (keyed hashes, SM4, format-preserving pseudonyms, synthetic
values) compile to a call of a vectorised function (:class:`UdfCall`) that the compile
context collects, so the engine registers it next to the query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, ClassVar

import pyarrow as pa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlglot import exp

from shudata.core.textsafe import CONTROL_MESSAGE, ControlCharacters, holds_control_chars
from shudata.query.engines.base import ScalarUdf


class Technique(StrEnum):
    """GB/T 37964-2019 §A de-identification techniques."""

    SUPPRESSION = "suppression"  # 抑制技术
    PSEUDONYMISATION = "pseudonymisation"  # 假名化技术
    GENERALISATION = "generalisation"  # 泛化技术
    RANDOMISATION = "randomisation"  # 随机化技术
    CRYPTOGRAPHIC = "cryptographic"  # 密码技术
    STATISTICAL = "statistical"  # 统计技术
    SYNTHESIS = "synthesis"  # 数据合成技术
    NONE = "none"  # 保留原值


TECHNIQUE_ZH = {
    Technique.SUPPRESSION: "抑制", Technique.PSEUDONYMISATION: "假名化", Technique.GENERALISATION: "泛化",
    Technique.RANDOMISATION: "随机化", Technique.CRYPTOGRAPHIC: "密码技术", Technique.STATISTICAL: "统计技术",
    Technique.SYNTHESIS: "数据合成", Technique.NONE: "不处理",
}

STRING, INTEGER, FLOAT, DATE, ANY = "string", "integer", "float", "date", "any"
NUMERIC = frozenset({INTEGER, FLOAT})


def type_family(t: pa.DataType) -> str:
    """The family of an Arrow type: string, integer, float, date or other.

    >>> type_family(pa.int32()), type_family(pa.large_string()), type_family(pa.timestamp("us"))
    ('integer', 'string', 'date')
    """
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return STRING
    if pa.types.is_integer(t):
        return INTEGER
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return FLOAT
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return DATE
    return "other"


@dataclass
class CompileContext:
    """What an operator may need while compiling one column.

    ``udfs`` collects the vectorised functions the expressions call; ``keys`` maps key
    ids to key material (``None`` when only the SQL text is wanted, e.g. golden tests);
    ``binding`` is the code of the resource the data comes from (reversible output names it).
    """

    column: str
    family: str
    arrow_type: pa.DataType
    keys: Mapping[str, bytes] | None = None
    udfs: dict[str, ScalarUdf] = field(default_factory=dict)
    binding: str | None = None

    def key(self, key_id: str) -> bytes:
        if self.keys is None:
            return b""
        return self.keys[key_id]


@dataclass(frozen=True)
class PreflightCheck:
    """A query whose rows prove the operator cannot apply (e.g. values outside a hierarchy)."""

    column: str
    condition: exp.Expr  # true for offending rows
    zh: str
    en: str


def one_printable(value: str) -> str:
    """A mask character: one printable character (``*``, ``＊``, ``×``, a Chinese character); a tab,
    a line break or any other control character is refused (it would be delivered in the data).

    >>> one_printable("＊"), one_printable("×")
    ('＊', '×')
    >>> one_printable("\\t")
    Traceback (most recent call last):
    shudata.core.textsafe.ControlCharacters: 应为一个可打印字符（不能是制表符、换行或其他控制字符） / must be one ...
    """
    if not value.isprintable():
        raise ControlCharacters("应为一个可打印字符（不能是制表符、换行或其他控制字符） / must be one printable "
                                "character (no tab, line break or other control character)")
    return value


MaskChar = Annotated[str, Field(min_length=1, max_length=1), AfterValidator(one_printable)]
"""The character an operator masks with."""


class Operator(BaseModel):
    """Base class of operator specs. Subclasses set the class attributes.

    No text parameter may hold a control character (:data:`shudata.core.textsafe.CONTROL_CHARS`):
    markers, labels, fixed texts and hierarchy values are written into the delivered data.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if holds_control_chars(value):
            raise ControlCharacters(CONTROL_MESSAGE)
        return value

    name: ClassVar[str]
    zh: ClassVar[str]
    technique: ClassVar[Technique]
    reversible: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str]] = frozenset({ANY})
    hides_value: ClassVar[bool] = True  # no original value survives in the output

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        raise NotImplementedError

    def key_ids(self) -> tuple[str, ...]:
        """Managed keys the operator uses."""
        return ()

    def preflight(self, col: exp.Expression, column: str) -> tuple[PreflightCheck, ...]:
        return ()

    def params(self) -> dict[str, object]:
        """The spec as plain data, with its operator name (round-trips through the registry)."""
        return {"op": self.name, **self.model_dump(mode="json")}

    def writes_control_chars(self) -> bool:
        """Whether a parameter holds a control character (a spec built without validation)."""
        return holds_control_chars(self.model_dump(mode="json"))


def lit(v: str | int | float) -> exp.Expression:
    """A SQL literal; integral floats print without ``.0`` (``90.0`` → ``90``)."""
    if isinstance(v, str):
        return exp.Literal.string(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return exp.Literal.number(v)


def as_text(col: exp.Expression, ctx: CompileContext) -> exp.Expression:
    """The column as text (dates as ISO strings), for string operators."""
    return col.copy() if ctx.family == STRING else exp.cast(col.copy(), "VARCHAR")


def udf_call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))
