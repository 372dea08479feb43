"""The operator registry: an explicit dict filled by :func:`register_operator` calls.

>>> reg = default_registry()
>>> op = reg.parse({"op": "partial_mask", "keep_head": 3, "keep_tail": 4})
>>> (op.name, op.keep_tail)
('partial_mask', 4)
>>> reg.parse({"op": "nope"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 未知的脱敏算子“nope”；可用：bucket, date_generalize, date_shift, ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from shudata.core.errors import InvalidInput
from shudata.core.textsafe import is_control_error
from shudata.privacy.operators import (
    bucket,
    date_generalize,
    date_shift,
    fpe,
    hierarchy,
    keep,
    mask,
    noise,
    number_band,
    partial_mask,
    pseudonym,
    region_generalize,
    round,
    sm4_encrypt,
    suppress,
    synthetic,
)
from shudata.privacy.operators.base import Operator


class OperatorRegistry:
    """Operator classes by name."""

    def __init__(self) -> None:
        self._items: dict[str, type[Operator]] = {}

    def register(self, cls: type[Operator]) -> None:
        self._items[cls.name] = cls

    def names(self) -> list[str]:
        return sorted(self._items)

    def get(self, name: str) -> type[Operator]:
        try:
            return self._items[name]
        except KeyError:
            raise InvalidInput(f"未知的脱敏算子“{name}”；可用：{', '.join(self.names())}",
                               f"Unknown operator {name!r}; available: {', '.join(self.names())}",
                               code="unknown_operator") from None

    def parse(self, data: Mapping[str, Any] | Operator) -> Operator:
        """An operator spec from ``{"op": name, **params}``; clear errors for bad params."""
        if isinstance(data, Operator):
            return data
        params = dict(data)
        name = params.pop("op", None)
        if not isinstance(name, str):
            raise InvalidInput("算子配置缺少 op 字段", "Operator config needs an 'op' field", code="unknown_operator")
        cls = self.get(name)
        try:
            return cls.model_validate(params)
        except ValidationError as exc:
            zh, en, code = problems(exc, "bad_operator_params")
            raise InvalidInput(f"算子 {name} 的参数有误：{zh}", f"Bad parameters for operator {name}: {en}",
                               code=code) from None


def problems(exc: ValidationError, code: str) -> tuple[str, str, str]:
    """(zh, en, code) of a refused spec: each error with its place; the code is
    ``control_characters`` when a text holds control characters, else ``code``.

    >>> try:
    ...     default_registry().get("suppress").model_validate({"marker": "已隐藏\\x00"})
    ... except ValidationError as exc:
    ...     zh, en, code = problems(exc, "bad_operator_params")
    >>> zh[:17], en[:27], code
    ('marker：含有不可见的控制字符', 'marker: contains invisible ', 'control_characters')
    """
    zh, en, control = [], [], False
    for e in exc.errors():
        where = ".".join(str(x) for x in e["loc"])
        if is_control_error(e):
            control = True
            said_zh, _, said_en = str(e["ctx"]["error"]).partition(" / ")
            zh.append(f"{where}：{said_zh}" if where else said_zh)
            en.append(f"{where}: {said_en or said_zh}" if where else said_en or said_zh)
        else:
            zh.append(f"{where}: {e['msg']}")
            en.append(f"{where}: {e['msg']}")
    return "; ".join(zh), "; ".join(en), "control_characters" if control else code


def register_builtins(reg: OperatorRegistry) -> None:
    """Register every built-in operator."""
    for cls in (keep.Keep, mask.MaskAll, partial_mask.PartialMask, pseudonym.KeyedPseudonym,
                sm4_encrypt.Sm4Encrypt, fpe.FormatPreservingPseudonym, number_band.NumberBand,
                date_generalize.DateGeneralize, region_generalize.RegionGeneralize, bucket.Bucket,
                hierarchy.HierarchyGeneralize, suppress.Suppress, date_shift.DateShift, round.Round, noise.Noise,
                synthetic.Synthetic):
        reg.register(cls)


def default_registry() -> OperatorRegistry:
    reg = OperatorRegistry()
    register_builtins(reg)
    return reg
