"""The grant's masking profile as column rewrites, through the desensitization engine.

Every delivery path (REST, Delta Sharing, push, federation) gets its rewrites here, so no
path can bypass the policy. The privacy package compiles a named profile (``open``,
``share-conditional``, ``trade``, ``internal``) for a resource's columns into sqlglot
expressions; until a resource has a policy, columns whose information items or values
look personal are masked by the profile's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session
from sqlglot import exp

from shudata.catalog.models import CatalogResource


def profile_exprs(session: Session, resource: CatalogResource, profile: str,
                  columns: Sequence[str], *, dialect: str = "duckdb") -> Mapping[str, exp.Expr]:
    """Column -> masking expression for ``profile`` (columns not listed pass unchanged)."""
    from shudata.privacy.service import compile_profile_for_resource

    return compile_profile_for_resource(session=session, resource=resource, profile=profile,
                                        columns=list(columns), dialect=dialect)
