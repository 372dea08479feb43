"""Pydantic's validation errors said in Chinese, for the 422 answers of the API and the forms.

Pydantic writes "Field required" and "Input should be a valid string"; a person using the
zh-CN interface reads 必填项 and 应为文本. The error ``type`` (stable across pydantic versions)
picks the sentence, its ``ctx`` fills in limits; ``loc`` is kept as the field path.
Our own validators raise ``ValueError`` with a message of their own (usually Chinese, often
with the English after it): that message is shown as it is.

>>> message_zh({"type": "missing", "loc": ("body", "resource"), "msg": "Field required"})
'必填项，不能为空'
>>> message_zh({"type": "string_too_long", "loc": ("title",), "msg": "...", "ctx": {"max_length": 200}})
'文本太长（至多 200 个字符）'
>>> message_zh({"type": "value_error", "loc": ("uscc",), "msg": "Value error, 统一社会信用代码校验位不对"})
'统一社会信用代码校验位不对'
>>> message_zh({"type": "something_new", "loc": (), "msg": "Input is odd"})
'取值无效（Input is odd）'
>>> field_path(("body", "items", 2, "name"))
'items[2].name'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MESSAGES_ZH: dict[str, str] = {
    "missing": "必填项，不能为空",
    "missing_argument": "必填项，不能为空",
    "extra_forbidden": "不接受这个字段（请检查拼写，或删去它）",
    "unexpected_keyword_argument": "不接受这个字段（请检查拼写，或删去它）",
    "string_type": "应为文本",
    "string_too_short": "文本太短（至少 {min_length} 个字符）",
    "string_too_long": "文本太长（至多 {max_length} 个字符）",
    "string_pattern_mismatch": "格式不符（须匹配 {pattern}）",
    "string_unicode": "应为有效的 Unicode 文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_parsing_size": "整数超出可处理的范围",
    "int_from_float": "应为整数，不能带小数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字（不能是无穷大或 NaN）",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "数字位数过多（至多 {max_digits} 位）",
    "decimal_max_places": "小数位数过多（至多 {decimal_places} 位）",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false（是/否）",
    "literal_error": "取值须为以下之一：{expected}",
    "enum": "取值须为以下之一：{expected}",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须大于或等于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须小于或等于 {le}",
    "multiple_of": "须为 {multiple_of} 的倍数",
    "too_short": "至少须有 {min_length} 项",
    "too_long": "至多 {max_length} 项",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "dict_type": "应为对象（键: 值）",
    "model_type": "应为对象（键: 值）",
    "model_attributes_type": "应为对象（键: 值）",
    "date_type": "应为日期 YYYY-MM-DD",
    "date_parsing": "不是有效的日期（格式 YYYY-MM-DD）",
    "date_from_datetime_parsing": "不是有效的日期（格式 YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期，不能带时间",
    "date_past": "应为过去的日期",
    "date_future": "应为将来的日期",
    "datetime_type": "应为日期时间 YYYY-MM-DD HH:MM:SS",
    "datetime_parsing": "不是有效的日期时间（格式 YYYY-MM-DD HH:MM:SS）",
    "datetime_from_date_parsing": "不是有效的日期时间（格式 YYYY-MM-DD HH:MM:SS）",
    "time_type": "应为时间 HH:MM:SS",
    "time_parsing": "不是有效的时间（格式 HH:MM:SS）",
    "none_required": "此处不应填写",
    "json_invalid": "不是有效的 JSON：{error}",
    "json_type": "应为 JSON 文本",
    "url_type": "应为网址",
    "url_parsing": "不是有效的网址",
    "url_scheme": "网址须以 {expected_schemes} 开头",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "不是有效的 UUID",
    "bytes_type": "应为二进制内容",
    "bytes_too_short": "内容太短（至少 {min_length} 字节）",
    "bytes_too_long": "内容太长（至多 {max_length} 字节）",
    "is_instance_of": "类型不对",
    "union_tag_invalid": "{discriminator} 的取值须为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少用于区分类型的字段 {discriminator}",
    "value_error": "{reason}",
    "assertion_error": "{reason}",
}


def show_value(value: Any, choices: bool = False) -> str:
    """A context value as a message shows it: ``0.0`` as 0, ``'a', 'b' or 'c'`` as ``'a'、'b'、'c'``.

    >>> show_value(0.0), show_value("'a', 'b' or 'c'", choices=True)
    ('0', "'a'、'b'、'c'")
    """
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return text.replace(" or ", "、").replace(", ", "、") if choices else text


def message_zh(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in Chinese."""
    etype, msg = str(error.get("type", "")), str(error.get("msg", ""))
    if etype in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = MESSAGES_ZH.get(etype)
    if template is None:
        return f"取值无效（{msg}）" if msg else "取值无效"
    ctx = dict(error.get("ctx") or {})
    try:
        return template.format(**{k: show_value(v, k.startswith("expected")) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return f"取值无效（{msg}）"


def message(error: Mapping[str, Any], lang: str) -> str:
    """The error in ``lang``: Chinese from :func:`message_zh`, English as pydantic says it."""
    if lang == "en":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    return message_zh(error)


def field_path(loc: Sequence[Any]) -> str:
    """``loc`` without where the value came from (body, query, path, …), list items as ``[i]``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header", "cookie", "form") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
