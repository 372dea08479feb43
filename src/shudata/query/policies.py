"""Access providers: who decides what a caller may see of a resource inside a query.

A provider returns the restrictions for ``(actor, resource)`` — for example the masking
policy of the resource (privacy package) or the fields and row filter of the caller's
sharing grant (sharing package) — or ``None`` when it has nothing to say. Every query
resolved through :class:`~shudata.query.catalog_tables.CatalogResolver` applies the
restrictions of *all* registered providers (combined with
:meth:`~shudata.query.access.TableAccess.restrict`), so no entry point (API, CLI, portal,
market) can forget them; a caller's ``access_overrides`` only narrow them further.

Providers are registered explicitly, once, by the code that assembles the application
(``register_access_provider("privacy.masking", fn)``), never by import side effects.

>>> from shudata.query.access import TableAccess
>>> reg = AccessProviders()
>>> reg.register("hide-id", lambda session, actor, res: TableAccess(columns=("name",)))
>>> reg.access_for(None, None, None).columns  # type: ignore[arg-type]
('name',)
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor
from shudata.query.access import FULL_ACCESS, TableAccess

AccessProvider = Callable[[Session, Actor, CatalogResource], TableAccess | None]


class AccessProviders:
    """An explicit registry of access providers (name -> provider)."""

    def __init__(self) -> None:
        self.providers: dict[str, AccessProvider] = {}

    def register(self, name: str, provider: AccessProvider) -> None:
        """Add or replace the provider called ``name``."""
        self.providers[name] = provider

    def unregister(self, name: str) -> None:
        self.providers.pop(name, None)

    def access_for(self, session: Session, actor: Actor, res: CatalogResource) -> TableAccess:
        """The combined restrictions of every provider for ``actor`` on ``res``."""
        access = FULL_ACCESS
        for provider in self.providers.values():
            extra = provider(session, actor, res)
            if extra is not None:
                access = access.restrict(extra)
        return access


ACCESS_PROVIDERS = AccessProviders()


def register_access_provider(name: str, provider: AccessProvider) -> None:
    """Register ``provider`` for every query of this process (see the module docstring)."""
    ACCESS_PROVIDERS.register(name, provider)
