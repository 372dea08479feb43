"""The CKAN-compatible actions by name, and how to call one.

One table, read by every entry point: the Action API (:mod:`shudata.web.ckan`), the CLI
(``shudata portal action NAME key=value …``) and tests. An action is a plain function
``(ctx, params) -> result`` that checks what it needs itself (visibility, data access) and
raises :mod:`shudata.core.errors`; the entry point maps those to its own form (CKAN's error
envelope, an exit code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shudata.core.errors import NotFound
from shudata.portal.logic.context import Context
from shudata.portal.logic.datastore import datastore_info, datastore_search, datastore_search_sql
from shudata.portal.logic.organizations import (
    group_list,
    group_show,
    organization_list,
    organization_show,
    tag_list,
    tag_show,
)
from shudata.portal.logic.packages import (
    current_package_list_with_resources,
    package_activity_list,
    package_autocomplete,
    package_list,
    package_search,
    package_show,
    resource_search,
    resource_show,
)
from shudata.portal.logic.params import Params
from shudata.portal.logic.site import license_list, status_show

ActionFn = Callable[[Context, Params], Any]


def help_show(ctx: Context, params: Params) -> str:
    """The documentation of an action (its docstring), as CKAN's ``help_show``.

    :param name: the action's name
    """
    name = params.required("name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise NotFound(f"没有名为“{name}”的操作", f"Action {name!r} not found", code="action_not_found",
                       details={"action": "portal.api.help_show"})
    return (fn.__doc__ or name).strip()


ACTIONS: dict[str, ActionFn] = {
    "status_show": status_show, "package_list": package_list, "package_search": package_search,
    "package_show": package_show, "resource_show": resource_show, "organization_list": organization_list,
    "organization_show": organization_show, "group_list": group_list, "group_show": group_show,
    "tag_list": tag_list, "license_list": license_list, "help_show": help_show,
    "datastore_search": datastore_search, "datastore_search_sql": datastore_search_sql,
    "datastore_info": datastore_info,
    "current_package_list_with_resources": current_package_list_with_resources,
    "package_autocomplete": package_autocomplete, "resource_search": resource_search, "tag_show": tag_show,
    "package_activity_list": package_activity_list,
}


def get_action(name: str) -> ActionFn:
    """The action called ``name``; ``NotFound`` (``action_not_found``) for any other name."""
    fn = ACTIONS.get(name)
    if fn is None:
        raise NotFound(f"没有名为“{name}”的操作（只读 Action API）", f"Action {name!r} not found",
                       code="action_not_found")
    return fn


def call_action(name: str, ctx: Context, params: Params) -> Any:
    """Run action ``name`` with ``params`` as ``ctx``'s caller (a body that could not be
    read is refused first, as CKAN does)."""
    fn = get_action(name)
    params.check()
    return fn(ctx, params)
