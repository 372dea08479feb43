"""Organization, group and tag actions: ``organization_list``, ``organization_show``,
``group_list``, ``group_show``, ``tag_list``. Public; counts are over visible datasets only."""

from __future__ import annotations

from typing import Any

from shudata.core.errors import NotFound
from shudata.portal import ckan
from shudata.portal.logic.context import Context
from shudata.portal.logic.params import Params
from shudata.portal.search import DatasetFilters, search_datasets


def organization_list(ctx: Context, params: Params) -> list[Any]:
    rows = ckan.organization_counts(ctx.session)
    wanted = params.names("organizations")
    if wanted:
        rows = [(d, n) for d, n in rows if ckan.org_name(d) in {w.lower() for w in wanted}]
    if (params.text("sort") or "").startswith("package_count"):
        rows.sort(key=lambda x: -x[1])
    offset, limit = params.integer("offset", 0), params.integer("limit", 1000, maximum=1000)
    rows = rows[offset:offset + limit]
    if params.flag("all_fields", False):
        return [ckan.organization_dict(d, n) for d, n in rows]
    return [ckan.org_name(d) for d, _ in rows]


def organization_show(ctx: Context, params: Params) -> dict[str, Any]:
    dept, n = ckan.find_organization(ctx.session, params.required("id"))
    out = ckan.organization_dict(dept, n)
    if params.flag("include_datasets", False):
        found = search_datasets(ctx.session, filters=DatasetFilters(department_id=dept.id), sort="newest",
                                limit=1000, facets=False)
        out["packages"] = ckan.packages(ctx.session, [(h.dataset, h.resource) for h in found.hits], ctx.base_url)
    return out


def group_list(ctx: Context, params: Params) -> list[Any]:
    rows = ckan.group_counts(ctx.session)
    wanted = params.names("groups")
    if wanted:
        rows = [(t, n) for t, n in rows if t in wanted]
    if (params.text("sort") or "").startswith("package_count"):
        rows.sort(key=lambda x: -x[1])
    offset, limit = params.integer("offset", 0), params.integer("limit", 1000, maximum=1000)
    rows = rows[offset:offset + limit]
    if params.flag("all_fields", False):
        return [ckan.group_dict(t, n) for t, n in rows]
    return [t for t, _ in rows]


def group_show(ctx: Context, params: Params) -> dict[str, Any]:
    key = params.required("id")
    for theme, n in ckan.group_counts(ctx.session):
        if theme == key:
            return ckan.group_dict(theme, n)
    raise NotFound(f"主题“{key}”不存在", f"Group {key!r} not found", code="group_not_found",
                   details={"action": "portal.api.group_show"})


def tag_list(ctx: Context, params: Params) -> list[Any]:
    counts = ckan.tag_counts(ctx.session)
    query = (params.text("query") or params.text("q") or "").strip()
    names = sorted(t for t in counts if query in t)
    if params.flag("all_fields", False):
        return [ckan.tag_dict(t) for t in names]
    return names
