"""The grant's masking profile as column rewrites, through the desensitization engine.

Every delivery path (REST, Delta Sharing, push, federation) gets its rewrites here, so no
path can bypass the policy. For a grant with profile ``P`` on resource ``R``:

- the saved policy named ``<R's code with / as ->-<P>`` (e.g. ``101001-000001-share-conditional``)
  when a steward wrote one, else
- the profile's defaults (:mod:`shudata.privacy.profiles`) applied to the entity types
  detected in the version — from its saved scan report, or a sample scan cached per
  (resource, version), versions being immutable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlglot import exp

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.lake.models import LakeVersion
from shudata.privacy.detect.classify import scan_table
from shudata.privacy.models import PrivacyPolicy, PrivacyScanReport
from shudata.privacy.policy import Policy
from shudata.privacy.profiles import PROFILES
from shudata.privacy.service import plan_for
from shudata.privacy.sources import sample_table
from shudata.query.engines.base import ScalarUdf, TableSource


@dataclass(frozen=True)
class Masking:
    column_exprs: Mapping[str, exp.Expr]
    udfs: tuple[ScalarUdf, ...]


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise InvalidInput(f"未知的脱敏策略“{profile}”（可用：{'、'.join(PROFILES)}）",
                           f"Unknown masking profile {profile!r} (use one of {', '.join(PROFILES)})")
    return profile


def policy_name(resource: CatalogResource, profile: str) -> str:
    return f"{resource.code.replace('/', '-')}-{profile}"


def _policy(session: Session, resource: CatalogResource, profile: str) -> Policy:
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == policy_name(resource, profile)))
    if row is not None:
        return Policy.parse(row.body)
    return Policy.parse({"name": f"default-{profile}", "profile": profile})


_FINDINGS: dict[tuple[int, int, str], dict[str, str | None]] = {}


def _findings(session: Session, settings: Settings, resource: CatalogResource, version: LakeVersion,
              source: TableSource) -> dict[str, str | None]:
    row = session.scalar(select(PrivacyScanReport).where(PrivacyScanReport.resource_id == resource.id,
                                                          PrivacyScanReport.version == version.version)
                         .order_by(PrivacyScanReport.id.desc()).limit(1))
    if row is not None:
        return {c["column"]: c["entity"] for c in row.report["columns"]}
    key = (resource.id, version.version, str(settings.lake_dir))
    if key not in _FINDINGS:
        sample = sample_table(settings, source, 2000)
        _FINDINGS[key] = {c.column: c.entity for c in scan_table(sample, source=resource.code).columns}
    return _FINDINGS[key]


def masking_for(session: Session, settings: Settings, resource: CatalogResource, version: LakeVersion,
                source: TableSource, schema: pa.Schema, profile: str) -> Masking:
    """Rewrites and vectorised functions that apply ``profile`` to this version."""
    check_profile(profile)
    plan = plan_for(session, settings, _policy(session, resource, profile), schema,
                    _findings(session, settings, resource, version, source))
    return Masking(column_exprs=dict(plan.column_exprs), udfs=plan.udfs)


def masking_state(session: Session, resource: CatalogResource, version: LakeVersion, profile: str) -> tuple[int, int]:
    """What the masking of a version depends on besides the grant: the saved policy's revision
    and the newest scan report (0 when absent). Cached views are keyed by it."""
    revision = session.scalar(select(PrivacyPolicy.revision).where(
        PrivacyPolicy.name == policy_name(resource, profile))) or 0
    report = session.scalar(select(PrivacyScanReport.id).where(
        PrivacyScanReport.resource_id == resource.id, PrivacyScanReport.version == version.version)
        .order_by(PrivacyScanReport.id.desc()).limit(1)) or 0
    return int(revision), int(report)
