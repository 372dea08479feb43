"""Language selection (zh-CN first, English available).

>>> pick_language(query="en", cookie=None, accept=None)
'en'
>>> pick_language(query=None, cookie=None, accept="en-US,en;q=0.9")
'en'
>>> pick_language(query=None, cookie=None, accept=None)
'zh-CN'
>>> tr("zh-CN", "数据目录", "Catalog")
'数据目录'
"""

from __future__ import annotations

LANGUAGES = ("zh-CN", "en")


def normalize(lang: str | None) -> str | None:
    if not lang:
        return None
    lang = lang.strip().lower()
    if lang.startswith("en"):
        return "en"
    if lang.startswith("zh"):
        return "zh-CN"
    return None


def pick_language(*, query: str | None, cookie: str | None, accept: str | None, default: str = "zh-CN") -> str:
    """Query parameter ``lang`` beats the ``lang`` cookie beats Accept-Language."""
    for cand in (query, cookie):
        if (n := normalize(cand)) is not None:
            return n
    if accept:
        first = accept.split(",")[0].split(";")[0]
        if (n := normalize(first)) is not None:
            return n
    return default


def tr(lang: str, zh: str, en: str) -> str:
    """Choose the text for ``lang``."""
    return en if lang == "en" else zh
