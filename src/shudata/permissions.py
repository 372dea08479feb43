"""The permission vocabulary of the whole platform: every package's actions, in one registry.

The one place the built-in actions are registered (architecture convention 4): each package
declares its actions in its own ``actions.py`` and lists them in its ``ACTIONS`` tuple;
:data:`ACTION_MODULES` names those modules explicitly, in layer order, and
:func:`builtin_actions` registers them. Like ``web`` and ``cli`` this module sits above every
package (it imports them all) and no package imports it: services import their own
``actions`` module and call :func:`shudata.security.authz.require`.

The registry is what ``tests/unit/security/test_permission_matrix.py`` and
``docs/permissions.md`` (``scripts/gen_docs.py``) are generated from, so a new action cannot
ship without its expected rows and its line in the docs.

>>> reg = builtin_actions()
>>> reg["sharing.grant.use"].scope
'grant'
"""

from __future__ import annotations

from types import ModuleType

from shudata.analysis import actions as analysis_actions
from shudata.analysis.dashboards_perms import actions as dashboards_actions
from shudata.catalog import actions as catalog_actions
from shudata.market import actions as market_actions
from shudata.market.ledger import actions as market_ledger_actions
from shudata.market.rights import actions as market_rights_actions
from shudata.market.valuation import actions as market_valuation_actions
from shudata.portal import actions as portal_actions
from shudata.privacy import actions as privacy_actions
from shudata.quality import actions as quality_actions
from shudata.query import actions as query_actions
from shudata.security import actions as security_actions
from shudata.security.authz import ActionRegistry
from shudata.sharing import actions as sharing_actions

ACTION_MODULES: tuple[ModuleType, ...] = (security_actions, query_actions, catalog_actions, quality_actions,
                                          privacy_actions, analysis_actions, sharing_actions, portal_actions,
                                          market_actions, market_ledger_actions, market_rights_actions,
                                          market_valuation_actions, dashboards_actions)


def register_builtin_actions(registry: ActionRegistry) -> ActionRegistry:
    """Register every built-in action into ``registry`` (and return it)."""
    for module in ACTION_MODULES:
        registry.register(*module.ACTIONS)
    return registry


def builtin_actions() -> ActionRegistry:
    """A new registry holding the built-in actions."""
    return register_builtin_actions(ActionRegistry())
