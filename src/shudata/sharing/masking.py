"""The grant's masking profile as column rewrites, through the desensitization engine.

Every delivery path (REST, Delta Sharing, push, federation) gets its rewrites here, so no
path can bypass the policy. For a grant with profile ``P`` on resource ``R``:

- the saved policy named ``<R's code with / as ->-<P>`` (e.g. ``101001-000001-share-conditional``)
  when a steward wrote one, else
- the profile's defaults (:mod:`shudata.privacy.profiles`) applied to the entity types
  detected in the version — from its saved scan report, or a sample scan done once per
  (resource, version), versions being immutable: kept in memory and in a small JSON file
  next to the delivery files (``delivery/findings/``), so neither a later call nor a
  restarted server scans the version again. :mod:`shudata.sharing.prepare` does that scan
  in the background when a grant is made or a granted entry gets a new version.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlglot import exp

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.lake.models import LakeVersion
from shudata.privacy.detect.classify import scan_table
from shudata.privacy.models import PrivacyColumnReview, PrivacyPolicy, PrivacyScanReport
from shudata.privacy.policy import Policy
from shudata.privacy.profiles import PROFILES
from shudata.privacy.review import apply_reviews
from shudata.privacy.service import plan_for
from shudata.privacy.sources import sample_table
from shudata.query.engines.base import ScalarUdf, TableSource
from shudata.sharing.locks import KeyedLocks

log = logging.getLogger("shudata.sharing.masking")


@dataclass(frozen=True)
class Masking:
    column_exprs: Mapping[str, exp.Expr]
    udfs: tuple[ScalarUdf, ...]


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise InvalidInput(f"未知的脱敏策略“{profile}”（可用：{'、'.join(PROFILES)}）",
                           f"Unknown masking profile {profile!r} (use one of {', '.join(PROFILES)})",
                           code="unknown_masking_profile")
    return profile


def policy_name(resource: CatalogResource, profile: str) -> str:
    return f"{resource.code.replace('/', '-')}-{profile}"


def _policy(session: Session, resource: CatalogResource, profile: str) -> Policy:
    row = session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == policy_name(resource, profile)))
    if row is not None:
        return Policy.parse(row.body)
    return Policy.parse({"name": f"default-{profile}", "profile": profile})


_FINDINGS: dict[tuple[int, int, str], dict[str, str | None]] = {}
_FINDINGS_LOCK = threading.Lock()
_SCANNING = KeyedLocks()  # one sample scan per version at a time; a second caller waits for its result


def findings_file(settings: Settings, version: LakeVersion) -> Path:
    """Where the sample scan of ``version`` is kept (named by its storage path, unique per version)."""
    stem = version.storage_path.strip("/").replace("/", "-").replace("\\", "-")
    return settings.data_dir / "delivery" / "findings" / f"{stem}.json"


def _load_findings(path: Path) -> dict[str, str | None] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                             for k, v in data.items()):
        return None
    return data


def _save_findings(path: Path, found: Mapping[str, str | None]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(dict(found), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a cache: the scan is simply done again next time
        log.warning("could not keep the scan findings in %s", path, exc_info=True)


def version_findings(session: Session, settings: Settings, resource: CatalogResource, version: LakeVersion,
                     source: TableSource) -> dict[str, str | None]:
    """Column → detected entity type of a version: the newest saved scan report, else a sample scan
    (kept per version), with the stewards' reviews in force applied
    (:func:`shudata.privacy.review.apply_reviews`). Every masking profile applied to a version starts
    from this."""
    row = session.scalar(select(PrivacyScanReport).where(PrivacyScanReport.resource_id == resource.id,
                                                          PrivacyScanReport.version == version.version)
                         .order_by(PrivacyScanReport.id.desc()).limit(1))
    if row is not None:
        found = {c["column"]: c["entity"] for c in row.report["columns"]}
    else:
        found = scanned_findings(settings, resource, version, source)
    # a steward's review overrules detection, except on values that validate as identifiers
    return apply_reviews(session, resource.id, found, lambda: sample_table(settings, source, 2000))


def scanned_findings(settings: Settings, resource: CatalogResource, version: LakeVersion,
                     source: TableSource) -> dict[str, str | None]:
    """The entity types a sample scan finds in ``version``: scanned once, then kept."""
    key = (resource.id, version.version, str(settings.lake_dir))
    hit = _FINDINGS.get(key)
    if hit is not None:
        return hit
    with _SCANNING.hold(key):
        hit = _FINDINGS.get(key)
        if hit is None:
            path = findings_file(settings, version)
            hit = _load_findings(path)
            if hit is None:
                sample = sample_table(settings, source, 2000)
                hit = {c.column: c.entity for c in scan_table(sample, source=resource.code).columns}
                _save_findings(path, hit)
            with _FINDINGS_LOCK:
                if len(_FINDINGS) >= 1024:
                    _FINDINGS.pop(next(iter(_FINDINGS)))
                _FINDINGS[key] = hit
    return hit


def forget_findings() -> None:
    """Drop the in-memory findings (the files stay); for tests and benchmarks."""
    with _FINDINGS_LOCK:
        _FINDINGS.clear()


def masking_for(session: Session, settings: Settings, resource: CatalogResource, version: LakeVersion,
                source: TableSource, schema: pa.Schema, profile: str) -> Masking:
    """Rewrites and vectorised functions that apply ``profile`` to this version."""
    check_profile(profile)
    plan = plan_for(session, settings, _policy(session, resource, profile), schema,
                    version_findings(session, settings, resource, version, source), binding=resource.code)
    return Masking(column_exprs=dict(plan.column_exprs), udfs=plan.udfs)


def masking_state(session: Session, resource: CatalogResource, version: LakeVersion,
                  profile: str) -> tuple[int, int, int]:
    """What the masking of a version depends on besides the grant: the saved policy's revision,
    the newest scan report and the newest column review (0 when absent). Cached views are keyed by it."""
    revision = session.scalar(select(PrivacyPolicy.revision).where(
        PrivacyPolicy.name == policy_name(resource, profile))) or 0
    report = session.scalar(select(PrivacyScanReport.id).where(
        PrivacyScanReport.resource_id == resource.id, PrivacyScanReport.version == version.version)
        .order_by(PrivacyScanReport.id.desc()).limit(1)) or 0
    review = session.scalar(select(PrivacyColumnReview.id).where(PrivacyColumnReview.resource_id == resource.id)
                            .order_by(PrivacyColumnReview.id.desc()).limit(1)) or 0
    return int(revision), int(report), int(review)
