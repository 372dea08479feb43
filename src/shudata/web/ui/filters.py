"""Jinja filters and globals shared by the page templates.

>>> entry_url("101001/000123")
'/catalog/101001/000123'
>>> entry_url("人口 基础", "upload")
'/catalog/%E4%BA%BA%E5%8F%A3%20%E5%9F%BA%E7%A1%80/upload'
>>> fmt_dt(None)
'—'
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment
from markupsafe import Markup, escape

from shudata.catalog.schemas import DATA_TYPE_LABELS, DataType
from shudata.core.clock import DISPLAY_ZONE, local_text
from shudata.core.types import ROLE_LABELS, Role
from shudata.lake.ingest.formats import upload_hints
from shudata.web.ui.entry_view import field_label

SHARING_LABELS = {1: ("无条件共享", "Unconditional"), 2: ("有条件共享", "Conditional"), 3: ("不予共享", "Not shared")}
SHARING_BADGES = {1: "text-bg-success", 2: "text-bg-warning", 3: "text-bg-secondary"}


def entry_url(code: str, suffix: str = "") -> str:
    """The page of a catalog entry; the code keeps its "/" (same scheme as the catalog API)."""
    url = "/catalog/" + quote(str(code), safe="/")
    return f"{url}/{suffix}" if suffix else url


def fmt_dt(value: Any, fmt: str = "%Y-%m-%d %H:%M", tz: str = DISPLAY_ZONE) -> str:
    """A timestamp as people read it: in the configured zone (the stored values are UTC)."""
    return local_text(value, fmt, tz)


def use_zone(env: Environment, tz: str) -> None:
    """Show every time of the templates of ``env`` in ``tz`` (``SHUDATA_TIMEZONE``): the ``dt``
    filter, and ``display_zone`` for the pages that name it.

    >>> import datetime as dt
    >>> env = Environment()
    >>> install_filters(env); use_zone(env, "Europe/Berlin")
    >>> env.from_string("{{ t|dt('%H:%M') }}").render(t=dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC))
    '13:00'
    """
    env.filters["dt"] = functools.partial(fmt_dt, tz=tz)
    env.globals["display_zone"] = tz


def bilingual(text: Any, lang: str) -> str:
    """One language of a stored "中文 / English" text (scan evidence, older messages); a text
    extended with "；中文 / English" keeps every part in the chosen language.

    >>> t = ("3/5 个样本值符合手机号码（格式）；表头匹配 / 3/5 sampled values are valid mobile number (pattern); "
    ...      "header matches；不属个人信息 / not personal")
    >>> bilingual(t, "zh-CN")
    '3/5 个样本值符合手机号码（格式）；表头匹配；不属个人信息'
    >>> bilingual(t, "en")
    '3/5 sampled values are valid mobile number (pattern); header matches; not personal'
    >>> bilingual("未发现敏感信息", "en")
    '未发现敏感信息'
    """
    parts = str("" if text is None else text).split(" / ")
    if len(parts) < 2:
        return parts[0]
    middles = [m.split("；", 1) for m in parts[1:-1]]
    if lang == "en":
        return "; ".join([*(m[0] for m in middles), parts[-1]])
    return "；".join([parts[0], *(m[1] for m in middles if len(m) > 1)])


def role_label(role: Any, lang: str) -> str:
    try:
        zh, en = ROLE_LABELS[Role(str(getattr(role, "value", role)))]
    except ValueError:
        return str(role)
    return en if lang == "en" else zh


def sharing_label(value: Any, lang: str) -> str:
    key = int(getattr(value, "value", value) or 0)
    zh, en = SHARING_LABELS.get(key, (str(value), str(value)))
    return en if lang == "en" else zh


def sharing_badge(value: Any) -> str:
    return SHARING_BADGES.get(int(getattr(value, "value", value) or 0), "text-bg-light")


def enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def install_filters(env: Environment) -> None:
    env.filters["dt"] = fmt_dt
    env.globals["display_zone"] = DISPLAY_ZONE
    env.filters["ev"] = enum_value
    env.filters["hl"] = highlight
    env.filters["bilingual"] = bilingual
    env.globals["entry_url"] = entry_url
    env.globals["role_label"] = role_label
    env.globals["sharing_label"] = sharing_label
    env.globals["sharing_badge"] = sharing_badge
    env.globals["value_label"] = value_label
    env.globals["type_label"] = type_label
    env.globals["field_label"] = field_label
    env.globals["url_with"] = url_with
    env.globals["ingest_formats"] = upload_hints()  # the upload inputs' accept list and help text


VALUE_LABELS_EN: dict[str, str] = {
    "基础": "Base", "主题": "Thematic", "部门": "Departmental", "实时": "Real-time", "每日": "Daily", "每周": "Weekly",
    "每月": "Monthly", "每季度": "Quarterly", "每年": "Yearly", "电子文件": "Electronic file",
    "电子表格": "Spreadsheet",
    "数据库": "Database", "图形图像": "Image", "流媒体": "Streaming media", "其他": "Other", "库表": "Table",
    "接口": "API", "文件": "File", "无条件开放": "Open", "有条件开放": "Conditionally open", "不予开放": "Not open",
    "无条件共享": "Unconditional", "有条件共享": "Conditional", "不予共享": "Not shared", "人口": "Population",
    "法人": "Legal entities", "自然资源和地理空间": "Natural resources & geospatial", "社会信用": "Social credit",
    "待匹配": "Open", "已匹配": "Matched", "已关闭": "Closed",
}


def value_label(value: Any, lang: str) -> str:
    """A Chinese enum value, translated for the English UI.

    >>> value_label("每月", "en"), value_label("每月", "zh-CN")
    ('Monthly', '每月')
    """
    text = str(getattr(value, "value", value))
    return VALUE_LABELS_EN.get(text, text) if lang == "en" else text


def url_with(base: str, params: dict[str, Any], **changes: Any) -> str:
    """``base`` with the query ``params`` updated (a value of ``None``/"" drops the key).

    >>> url_with("/catalog", {"q": "企业", "format": ""}, format="数据库", offset=None)
    '/catalog?q=%E4%BC%81%E4%B8%9A&format=%E6%95%B0%E6%8D%AE%E5%BA%93'
    """
    merged = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return f"{base}?{query}" if query else base


def type_label(value: Any, lang: str) -> str:
    """The name of an information-item data type (C 字符型 …)."""
    try:
        zh, en = DATA_TYPE_LABELS[DataType(str(getattr(value, "value", value)))]
    except ValueError:
        return str(value)
    return en if lang == "en" else zh


def highlight(text: Any, terms: list[str]) -> Markup:
    """``text`` escaped, with the query's terms marked (longest first).

    >>> str(highlight("四川省企业信用<信息>", ["企业", "企业信用"]))
    '四川省<mark>企业信用</mark>&lt;信息&gt;'
    """
    raw = "" if text is None else str(text)
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return escape(raw)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(raw):
        out.append(escape(raw[last:m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        last = m.end()
    out.append(escape(raw[last:]))
    return Markup("").join(out)
