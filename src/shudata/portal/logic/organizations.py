"""Organization, group and tag actions: ``organization_list``, ``organization_show``,
``group_list``, ``group_show``, ``tag_list``, ``tag_show``. Public; counts are over visible datasets only."""

from __future__ import annotations

from typing import Any

from shudata.core.errors import NotFound
from shudata.portal import ckan
from shudata.portal.logic.context import Context
from shudata.portal.logic.params import Params
from shudata.portal.search import DatasetFilters, search_datasets


def organization_list(ctx: Context, params: Params) -> list[Any]:
    """The organizations (provider departments) with visible datasets: names (the
    统一社会信用代码 in lower case) or, with ``all_fields=true``, their dicts."""
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
    """An organization by name, id or Chinese title; ``include_datasets=true`` adds its
    ``packages`` (up to 1000, newest first)."""
    dept, n = ckan.find_organization(ctx.session, params.required("id"))
    out = ckan.organization_dict(dept, n)
    if params.flag("include_datasets", False):
        found = search_datasets(ctx.session, filters=DatasetFilters(department_id=dept.id), sort="newest",
                                limit=1000, facets=False)
        out["packages"] = ckan.packages(ctx.session, [(h.dataset, h.resource) for h in found.hits], ctx.base_url)
    return out


def group_list(ctx: Context, params: Params) -> list[Any]:
    """The groups (the portal's themes): their names — ASCII slugs — or, with
    ``all_fields=true``, their dicts (``title`` is the Chinese theme)."""
    rows = ckan.group_counts(ctx.session)
    wanted = params.names("groups")
    if wanted:
        keys = set(wanted) | {w.lower() for w in wanted}
        rows = [(t, n) for t, n in rows if t in keys or ckan.group_name(t) in keys]
    if (params.text("sort") or "").startswith("package_count"):
        rows.sort(key=lambda x: -x[1])
    else:
        rows.sort(key=lambda x: ckan.group_name(x[0]))
    offset, limit = params.integer("offset", 0), params.integer("limit", 1000, maximum=1000)
    rows = rows[offset:offset + limit]
    if params.flag("all_fields", False):
        return [ckan.group_dict(t, n) for t, n in rows]
    return [ckan.group_name(t) for t, _ in rows]


def group_show(ctx: Context, params: Params) -> dict[str, Any]:
    """A group (theme) by its name, id or Chinese title; ``include_datasets=true`` adds its
    ``packages`` (up to 1000, newest first)."""
    theme, n = ckan.find_group(ctx.session, params.required("id"))
    out = ckan.group_dict(theme, n)
    if params.flag("include_datasets", False):
        found = search_datasets(ctx.session, filters=DatasetFilters(theme=theme), sort="newest", limit=1000,
                                facets=False)
        out["packages"] = ckan.packages(ctx.session, [(h.dataset, h.resource) for h in found.hits], ctx.base_url)
    return out


def tag_list(ctx: Context, params: Params) -> list[Any]:
    """The tags of the visible datasets (``query``: those containing it)."""
    counts = ckan.tag_counts(ctx.session)
    query = (params.text("query") or params.text("q") or "").strip()
    names = sorted(t for t in counts if query in t)
    if params.flag("all_fields", False):
        return [ckan.tag_dict(t) for t in names]
    return names


def tag_show(ctx: Context, params: Params) -> dict[str, Any]:
    """A tag of the visible datasets; ``include_datasets=true`` adds its ``packages`` (up to
    1000, newest first)."""
    name = params.required("id")
    counts = ckan.tag_counts(ctx.session)
    if name not in counts:
        raise NotFound(f"标签“{name}”不存在或没有开放数据", f"Tag {name!r} not found", code="tag_not_found",
                       details={"action": "portal.api.tag_show"})
    out = ckan.tag_dict(name)
    if params.flag("include_datasets", False):
        found = search_datasets(ctx.session, filters=DatasetFilters(tags=(name,)), sort="newest", limit=1000,
                                facets=False)
        out["packages"] = ckan.packages(ctx.session, [(h.dataset, h.resource) for h in found.hits], ctx.base_url)
    return out
