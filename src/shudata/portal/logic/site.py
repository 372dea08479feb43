"""Site actions: ``status_show`` and ``license_list`` (public, no check)."""

from __future__ import annotations

from typing import Any

from shudata import __version__
from shudata.portal import ckan
from shudata.portal.logic.context import Context
from shudata.portal.logic.params import Params


def status_show(ctx: Context, params: Params) -> dict[str, Any]:
    """The site's title, URL, CKAN API version followed and extensions."""
    return {"site_title": "蜀数 · 四川省公共数据开放平台", "site_description": "四川省公共信息资源开放平台",
            "site_url": ctx.base_url, "ckan_version": ckan.CKAN_VERSION, "shudata_version": __version__,
            "error_emails_to": None, "locale_default": "zh_Hans_CN",
            "extensions": ["datastore", "shudata"]}


def license_list(ctx: Context, params: Params) -> list[dict[str, Any]]:
    """The licences of the portal's datasets (``url`` absolute)."""
    return ckan.licenses(ctx.base_url)
