"""Access restrictions: who decides what a caller may see of a resource inside a query.

An implementation of the ``query_table_access`` hook (:mod:`shudata.core.plugins`) returns
the restrictions for ``(actor, resource)`` — for example the cross-department masking of
the sharing package — or ``None`` when it has nothing to say. Every query resolved through
:class:`~shudata.query.catalog_tables.CatalogResolver` applies the restrictions of *all*
implementations on the runtime's plugin manager (combined with
:meth:`~shudata.query.access.TableAccess.restrict`), so no entry point (API, CLI, portal,
market) can forget them; a caller's ``access_overrides`` only narrow them further.

The built-in implementations are registered by the plugin manager factory
(:data:`shudata.core.plugins.BUILTINS`), never by import side effects.

>>> from shudata.core.plugins import hookimpl, make_plugin_manager
>>> class HideId:
...     @hookimpl
...     def query_table_access(self, session, settings, actor, resource):
...         return TableAccess(columns=("name",))
>>> pm = make_plugin_manager(builtins=(), plugins=[HideId()])
>>> access_for(pm, None, None, None, None).columns  # type: ignore[arg-type]
('name',)
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.plugins import PluginManager
from shudata.core.types import Actor
from shudata.query.access import FULL_ACCESS, TableAccess

AccessProvider = Callable[[Session, Actor, CatalogResource], TableAccess | None]


def access_for(plugins: PluginManager, session: Session, settings: Settings, actor: Actor,
               res: CatalogResource) -> TableAccess:
    """The combined restrictions of every ``query_table_access`` implementation for ``actor`` on ``res``."""
    access = FULL_ACCESS
    for extra in plugins.hook.query_table_access(session=session, settings=settings, actor=actor, resource=res):
        if extra is not None:
            access = access.restrict(extra)
    return access
