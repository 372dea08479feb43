"""The access restriction this package contributes to the SQL sandbox: a built-in plugin
(:data:`shudata.core.plugins.BUILTINS`), registered on every runtime's plugin manager.

``cross_department_masking``: a reader outside the provider department sees it through
the ``internal`` masking profile — raw personal data stays with its department, and
other departments receive it only masked, under a grant. Since ``lake.version.read``
has no platform-admin bypass (:mod:`shudata.catalog.access`), the query service refuses
such readers before this provider is asked; it stays as a second line of defence.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.plugins import hookimpl
from shudata.core.types import Actor
from shudata.lake.reader import layout
from shudata.lake.service import latest_version, version_files
from shudata.query.access import TableAccess
from shudata.query.engines.base import TableSource
from shudata.query.policies import AccessProvider
from shudata.sharing.masking import masking_for

PROFILE = "internal"


def cross_department_masking(settings: Settings) -> AccessProvider:
    """The provider for one runtime's settings (kept in a closure, nothing global)."""

    def provider(session: Session, actor: Actor, res: CatalogResource) -> TableAccess | None:
        if actor.is_system or actor.department_id == res.provider_department_id:
            return None
        v = latest_version(session, res.id)
        if v is None:
            return None
        source = TableSource(name="t", files=version_files(settings, v))
        masking = masking_for(session, settings, res, v, source, layout(source.files).schema, PROFILE)
        return TableAccess(column_exprs=dict(masking.column_exprs))

    return provider


@hookimpl
def query_table_access(session: Session, settings: Settings, actor: Actor,
                       resource: CatalogResource) -> TableAccess | None:
    """The cross-department masking of ``resource`` for ``actor`` (hook of every query)."""
    return cross_department_masking(settings)(session, actor, resource)
