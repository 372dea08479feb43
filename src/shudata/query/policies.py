"""Access restrictions: who decides what a caller may see of a resource inside a query.

An implementation of the ``query_table_access`` hook (:mod:`shudata.core.plugins`) returns
the restrictions for ``(actor, resource)`` — for example the cross-department masking of
the sharing package — or ``None`` when it has nothing to say. Every query resolved through
:class:`~shudata.query.catalog_tables.CatalogResolver` applies the restrictions of *all*
implementations on the runtime's plugin manager (combined with
:meth:`~shudata.query.access.TableAccess.restrict`), so no entry point (API, CLI, portal,
market) can forget them; a caller's ``access_overrides`` only narrow them further.

A reader outside the provider department is not given the raw version at all: the
``query_granted_table`` hook may vouch for them (the sharing package does, for a consumer
holding a usable grant) by handing over the *delivered view* — a :class:`GrantedTable`,
the grant's masked file — which the query then reads instead of the lake version; nobody
vouching means the usual refusal. ``query_table_access`` restricts readers of raw versions
and is not asked for a delivered view (its expressions are over the raw columns); the
caller's own ``access_overrides`` still narrow it.

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
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class GrantedTable:
    """A resource read through a higher layer's vouching (a sharing grant) instead of raw.

    The query reads ``files`` — the delivered view itself (the grant's columns and rows, its
    masking applied), never the lake version — so every filter, sort or count of the query
    operates on the values as delivered, and a column outside the view does not exist.

    Attributes:
        files: the Parquet files of the delivered view.
        columns: its columns, in order.
        version: the lake version the view was built from.
        grant: the id of the grant (named in the audit record and the result).
        deliver: called once the query's result is known with its row count and format
            (``json``, ``csv`` …): the grant's quota is checked and the delivery logged
            (raises ``LimitExceeded`` when the day's quota would be passed).
    """

    files: tuple[Path, ...]
    columns: tuple[str, ...]
    version: int
    grant: int
    deliver: Callable[[int, str], None]


@dataclass(frozen=True)
class GrantedColumn:
    name: str
    type: str
    masked: bool


@dataclass(frozen=True)
class GrantedSchema:
    """A resource the caller may query through a grant, as the schema browser lists it."""

    resource: CatalogResource
    version: int
    rows: int | None  # the delivered rows (None until the grant's masked file is prepared)
    grant: int
    columns: tuple[GrantedColumn, ...]


def granted_table(plugins: PluginManager, session: Session, settings: Settings, actor: Actor,
                  res: CatalogResource, version: int | None) -> GrantedTable | None:
    """What the ``query_granted_table`` hook vouches for ``actor`` on ``res`` (``None``: nobody does)."""
    found = plugins.hook.query_granted_table(session=session, settings=settings, actor=actor, resource=res,
                                             version=version)
    return found if isinstance(found, GrantedTable) else None


def granted_tables(plugins: PluginManager, session: Session, settings: Settings,
                   actor: Actor) -> list[GrantedSchema]:
    """Every resource ``actor`` may query through a grant (the ``query_granted_tables`` hook)."""
    out: dict[int, GrantedSchema] = {}
    for found in plugins.hook.query_granted_tables(session=session, settings=settings, actor=actor):
        for item in found or ():
            if isinstance(item, GrantedSchema):
                out.setdefault(item.resource.id, item)
    return list(out.values())
