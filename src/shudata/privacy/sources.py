"""Where privacy reads data: a catalog resource's lake version, or a local file."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from shudata.catalog.access import find_resource, require_raw_observer, require_read_data, resource_ref
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.lake.models import LakeVersion
from shudata.lake.service import get_version, version_files
from shudata.query.engines.base import Limits, TableSource, UdfEngine
from shudata.query.engines.choose import duckdb_engine, engine_for
from shudata.security.authz import Action, require

TABLE = "t"


@dataclass(frozen=True)
class ResourceData:
    resource: CatalogResource
    version: LakeVersion
    source: TableSource

    @property
    def label(self) -> str:
        return f"{self.resource.code} v{self.version.version}"


def engine(settings: Settings, *, resource: str | None = None, source: TableSource | None = None) -> UdfEngine:
    """The engine a masked export of ``resource`` (its version's files ``source``) runs on: Spark
    when the operator routes it there (``engine``, ``spark_resources``, ``spark_route_min_mb``),
    else DuckDB in-process. Masking compiles the same policy for either (:mod:`shudata.privacy.mask`)."""
    if resource is None and source is None:
        return duckdb_engine(settings)
    eng = engine_for(settings, resource=resource, files=source.files if source is not None else None)
    return eng  # type: ignore[return-value]  # both engines register vectorised functions (UdfEngine)


def local_engine(settings: Settings) -> UdfEngine:
    """DuckDB in-process: samples, previews and gate scans of rows already on this machine."""
    return duckdb_engine(settings)


def require_raw_reader(actor: Actor, res: CatalogResource, action: Action) -> None:
    """Raise unless ``actor`` may perform ``action`` on ``res`` *and* read its data raw.

    Scan reports (entity counts, proposed grades), risk reports, anonymisation and DP releases
    are computed on the raw values: they are for the provider department's staff. The platform
    admin and other departments are refused (403, audited by the web and CLI layers).
    """
    require_raw_observer(actor, res, action, what_zh="敏感数据扫描报告、分级、重识别风险、匿名化和差分隐私统计",
                         what_en="scan reports, grades, re-identification risk, anonymisation and "
                                 "differentially private releases are",
                         code="privacy_raw_data_only")


def resource_data(session: Session, settings: Settings, actor: Actor, resource: str, version: int | None,
                  action: Action) -> ResourceData:
    """Resolve a resource version the actor may read raw (refused first as a read of the raw
    data, ``lake.version.read``), checking ``action`` too."""
    res = find_resource(session, resource)
    require_read_data(actor, res)
    require(actor, action, resource_ref(res))
    v = get_version(session, res.id, version)
    return ResourceData(res, v, TableSource(TABLE, version_files(settings, v)))


def version_schema(settings: Settings, version: LakeVersion) -> pa.Schema | None:
    """The column names and types of a version, from its Parquet footer (no row is read)."""
    files = version_files(settings, version)
    return pq.read_schema(files[0]) if files else None


def sample_table(settings: Settings, source: TableSource, rows: int) -> pa.Table:
    """A reproducible random sample of at most ``rows`` rows (reservoir sampling in the engine)."""
    sql = f"SELECT * FROM {TABLE} USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE (42)"
    return local_engine(settings).query(sql, {TABLE: source}, Limits(timeout_s=600))


def whole_table(settings: Settings, source: TableSource) -> pa.Table:
    return local_engine(settings).query(f"SELECT * FROM {TABLE}", {TABLE: source}, Limits(timeout_s=600))


def parquet_source(path: Path) -> TableSource:
    return TableSource(TABLE, [Path(path)])


def temp_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="shudata-privacy-")
