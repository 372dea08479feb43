"""Jinja filters and globals shared by the page templates.

>>> entry_url("101001/000123")
'/catalog/101001/000123'
>>> entry_url("人口 基础", "upload")
'/catalog/%E4%BA%BA%E5%8F%A3%20%E5%9F%BA%E7%A1%80/upload'
>>> fmt_dt(None)
'—'
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from jinja2 import Environment

from shudata.core.clock import ensure_aware
from shudata.core.types import ROLE_LABELS, Role

SHARING_LABELS = {1: ("无条件共享", "Unconditional"), 2: ("有条件共享", "Conditional"), 3: ("不予共享", "Not shared")}
SHARING_BADGES = {1: "text-bg-success", 2: "text-bg-warning", 3: "text-bg-secondary"}
CST = dt.timezone(dt.timedelta(hours=8))


def entry_url(code: str, suffix: str = "") -> str:
    """The page of a catalog entry; the code keeps its "/" (same scheme as the catalog API)."""
    url = "/catalog/" + quote(str(code), safe="/")
    return f"{url}/{suffix}" if suffix else url


def fmt_dt(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A timestamp in China Standard Time (the stored values are UTC)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return ensure_aware(value).astimezone(CST).strftime(fmt)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


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
    env.filters["ev"] = enum_value
    env.globals["entry_url"] = entry_url
    env.globals["role_label"] = role_label
    env.globals["sharing_label"] = sharing_label
    env.globals["sharing_badge"] = sharing_badge
