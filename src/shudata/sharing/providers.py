"""The access restriction this package contributes to the SQL sandbox: a built-in plugin
(:data:`shudata.core.plugins.BUILTINS`), registered on every runtime's plugin manager.

``cross_department_masking``: a reader outside the provider department sees it through
the ``internal`` masking profile — raw personal data stays with its department, and
other departments receive it only masked, under a grant. Since ``lake.version.read``
has no platform-admin bypass (:mod:`shudata.catalog.access`), the query service refuses
such readers before this provider is asked; it stays as a second line of defence.

``query_granted_table``: a consumer department holding a usable grant reads the granted
resource in the sandbox (``POST /api/v1/query``, the workbench) as the grant delivers it —
the grant's masked file (:func:`~shudata.sharing.delivery.masked_file`, the same file as its
downloads), so only the granted columns and rows exist for the query, masked, and its
filters, sorts and counts see the masked values only (architecture convention 16). The
grant is re-checked on every query (revoked or expired: 403), its quota applies to the
result's rows, and each result is logged as a delivery on channel ``query``.
``query_granted_tables`` lists those resources for the workbench's schema browser.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import ShudataError
from shudata.core.plugins import hookimpl
from shudata.core.types import Actor
from shudata.lake.models import LakeVersion
from shudata.lake.reader import layout
from shudata.lake.service import get_version, latest_version, version_files
from shudata.query.access import TableAccess
from shudata.query.engines.base import TableSource
from shudata.query.policies import AccessProvider, GrantedColumn, GrantedSchema, GrantedTable
from shudata.security.authz import allowed
from shudata.sharing import actions as A
from shudata.sharing.delivery import (
    check_quota,
    grant_access,
    log_delivery,
    masked_file,
    masked_file_path,
    view_of,
)
from shudata.sharing.grants import active_grant, grant_ref
from shudata.sharing.masking import masking_for
from shudata.sharing.models import SharingGrant

PROFILE = "internal"
CHANNEL = "query"  # the delivery log's channel of sandbox queries (SQL API and workbench)


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


def _usable_grants(session: Session, actor: Actor) -> list[SharingGrant]:
    """The usable grants of the actor's department, newest first (one per resource is used)."""
    now = utcnow()
    grants = session.scalars(select(SharingGrant).where(
        SharingGrant.consumer_department_id == actor.department_id, SharingGrant.revoked_at.is_(None),
        SharingGrant.expires_at > now).order_by(SharingGrant.id.desc()))
    return [g for g in grants if allowed(actor, A.GRANT_USE, grant_ref(g, department_id=actor.department_id,
                                                                         now=now))]


def _consumer(actor: Actor, resource: CatalogResource) -> bool:
    """A reader a grant may vouch for: a person of a department other than the provider."""
    return (actor.is_authenticated and not actor.is_system and actor.department_id is not None
            and actor.department_id != resource.provider_department_id)


@hookimpl
def query_granted_table(session: Session, settings: Settings, actor: Actor, resource: CatalogResource,
                        version: int | None) -> GrantedTable | None:
    """The grant's delivered view of ``resource`` for a consumer department's reader (hook of
    every query): the same masked file as its downloads (:func:`~shudata.sharing.delivery.masked_file`
    — prepared in the background, or built now by the same compile path), so the query sees
    exactly the grant's columns and rows with its masking, and filters on the masked values.

    No grant at all: ``None`` (the query's usual refusal). A revoked or expired grant: refused
    here (403, saying which); a used-up quota: 429.
    """
    if not _consumer(actor, resource):
        return None
    held = session.scalar(select(SharingGrant.id).where(
        SharingGrant.resource_id == resource.id, SharingGrant.consumer_department_id == actor.department_id)
        .limit(1))
    if held is None:
        return None
    grant = active_grant(session=session, actor=actor, resource=resource)
    check_quota(session, grant, 0)
    view = view_of(session=session, settings=settings, grant=grant, resource=resource,
                   version=get_version(session, resource.id, version))
    path = masked_file(settings, view)

    def deliver(rows: int, fmt: str) -> None:
        check_quota(session, grant, rows)
        log_delivery(session, actor, view, rows=rows, fmt=fmt, channel=CHANNEL)

    return GrantedTable(files=(path,), columns=tuple(layout([path]).schema.names), version=view.version.version,
                        grant=grant.id, deliver=deliver)


@hookimpl
def query_granted_tables(session: Session, settings: Settings, actor: Actor) -> list[GrantedSchema]:
    """The resources the actor's department holds a usable grant on, with the granted columns
    (those the grant masks marked), for the workbench's schema browser and completion."""
    out: list[GrantedSchema] = []
    seen: set[int] = set()
    if not actor.is_authenticated or actor.is_system or actor.department_id is None:
        return out
    for grant in _usable_grants(session, actor):
        resource = session.get(CatalogResource, grant.resource_id)
        if grant.resource_id in seen or resource is None or resource.is_deleted or not _consumer(actor, resource):
            continue
        seen.add(grant.resource_id)
        v = latest_version(session, resource.id)
        if v is None:
            continue
        try:
            rows, columns = _granted_columns(session, settings, grant, resource, v)
        except ShudataError:  # no granted field left in this version: a query would be refused too
            continue
        out.append(GrantedSchema(resource=resource, version=v.version, rows=rows, grant=grant.id, columns=columns))
    return out


def _granted_columns(session: Session, settings: Settings, grant: SharingGrant, resource: CatalogResource,
                     v: LakeVersion) -> tuple[int | None, tuple[GrantedColumn, ...]]:
    """The delivered rows and columns: the row count and types from the prepared masked file when
    it is there (else no count, and the version's types); ``masked`` where the grant's masking
    rewrites the column. Nothing is built here: listing stays cheap."""
    source = TableSource(name="granted", files=version_files(settings, v))
    schema = layout(source.files).schema
    masking = masking_for(session, settings, resource, v, source, schema, grant.masking_profile)
    access = grant_access(grant, schema.names, masking)
    view = view_of(session=session, settings=settings, grant=grant, resource=resource, version=v)
    prepared = masked_file_path(settings, view)
    delivered = layout([prepared]) if prepared.exists() else None
    types = {f.name: str(f.type) for f in (delivered.schema if delivered is not None else schema)}
    return (delivered.total if delivered is not None else None,
            tuple(GrantedColumn(name=c, type=types.get(c, ""), masked=c in access.column_exprs)
                  for c in access.columns or ()))
