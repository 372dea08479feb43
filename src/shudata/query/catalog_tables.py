"""Table names of a query resolved against the catalog and the lake.

A name is a resource code (``"101001/000123"``), an alias (``enterprise_credit``) or the
resource's name (``"四川省企业信用信息"``). The caller must be allowed to read the
resource's data; the version is the newest unless the query asks for another one.
What the caller sees of each resource is the combined restriction of the
``query_table_access`` hook (:mod:`shudata.query.policies`: masking, grants) and the
caller's own overrides. A caller who may not read a resource raw reads it only when the
``query_granted_table`` hook vouches for them (a sharing grant): the table is then the
delivered view (:class:`~shudata.query.policies.GrantedTable`), masked files with only the
granted columns and rows; nobody vouching is the usual refusal. Each resolved resource gets
a random engine name, so user SQL can never name the underlying view directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from sqlglot import exp

from shudata.catalog.access import can_read_data, find_resource, require_read_data
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, ShudataError
from shudata.core.plugins import PluginManager, plugins_of
from shudata.core.types import Actor
from shudata.lake.service import get_version, version_files
from shudata.query.access import FULL_ACCESS, ResolvedTable, TableAccess
from shudata.query.engines.base import Engine, TableSource, view_name
from shudata.query.errors import details, table_not_found
from shudata.query.policies import GrantedTable, access_for, granted_table

# DuckDB's binder: 'Referenced column "x" not found', '… does not have a column named "x"'
_MISSING_COLUMN = re.compile(r'column "([^"]+)" not found|column named "([^"]+)"', re.IGNORECASE)


@dataclass(frozen=True)
class UsedTable:
    """What one resolved name points at."""

    resource: CatalogResource
    version: int
    table: ResolvedTable
    source: TableSource
    granted: GrantedTable | None = None


class CatalogResolver:
    """Resolve table names for one query (callable: name -> :class:`ResolvedTable`)."""

    def __init__(self, *, session: Session, settings: Settings, actor: Actor, engine: Engine,
                 versions: Mapping[str, int] | None = None,
                 access_overrides: Mapping[str, TableAccess] | None = None,
                 plugins: PluginManager | None = None) -> None:
        self.session, self.settings, self.actor, self.engine = session, settings, actor, engine
        self.plugins = plugins if plugins is not None else plugins_of(session)
        self.used: dict[int, UsedTable] = {}
        self.versions = {self._lookup(k).id: int(v) for k, v in (versions or {}).items()}
        self.overrides = {self._lookup(k).id: a for k, a in (access_overrides or {}).items()}

    def _lookup(self, name: str) -> CatalogResource:
        try:
            return find_resource(self.session, name)
        except NotFound:
            if name != name.lower():
                try:
                    return find_resource(self.session, name.lower())
                except NotFound:
                    pass
            raise table_not_found(name) from None

    def __call__(self, name: str) -> ResolvedTable:
        res = self._lookup(name)
        if res.id in self.used:
            return self.used[res.id].table
        granted = None if can_read_data(self.actor, res) else granted_table(
            self.plugins, self.session, self.settings, self.actor, res, self.versions.get(res.id))
        if granted is None:
            require_read_data(self.actor, res)  # a raw reader passes; one nobody vouches for is refused
            self.used[res.id] = self._bind(res)
        else:
            self.used[res.id] = self._bind_granted(res, granted)
        return self.used[res.id].table

    def _bind_granted(self, res: CatalogResource, granted: GrantedTable) -> UsedTable:
        """The delivered view as the table: nothing raw is reachable; the caller's overrides narrow it."""
        source = TableSource(name=view_name(self.settings.secret_key, granted.files), files=list(granted.files),
                             meta={"code": res.code, "version": str(granted.version), "grant": str(granted.grant)})
        access = self.overrides.get(res.id, FULL_ACCESS)
        table = ResolvedTable(source=source.name, columns=granted.columns, access=access, label=res.code)
        return UsedTable(resource=res, version=granted.version, table=table, source=source, granted=granted)

    def _bind(self, res: CatalogResource) -> UsedTable:
        try:
            version = get_version(self.session, res.id, self.versions.get(res.id))
        except ShudataError as exc:
            raise NotFound(f"资源“{res.code} {res.name}”：{exc.zh}", f"Resource {res.code}: {exc.en}",
                           code=exc.code, details=details(resource_id=res.code)) from exc
        files = version_files(self.settings, version)
        source = TableSource(name=view_name(self.settings.secret_key, files), files=files,
                             meta={"code": res.code, "version": str(version.version)})
        columns = tuple(str(c["name"]) for c in version.columns or []) or self._probe_columns(source)
        access = access_for(self.plugins, self.session, self.settings, self.actor, res)
        if res.id in self.overrides:
            access = access.restrict(self.overrides[res.id])
        table = ResolvedTable(source=source.name, columns=columns, access=access, label=res.code)
        return UsedTable(resource=res, version=version.version, table=table, source=source)

    def _probe_columns(self, source: TableSource) -> tuple[str, ...]:
        probe = exp.select("*").from_(exp.to_table(source.name, quoted=True)).limit(0)
        empty = self.engine.query(probe.sql(self.engine.dialect), {source.name: source})
        return tuple(empty.schema.names)

    @property
    def sources(self) -> dict[str, TableSource]:
        """Engine name -> files, for every table the query reads."""
        return {u.source.name: u.source for u in self.used.values()}

    def audit_tables(self) -> list[dict[str, Any]]:
        return [{"code": u.resource.code, "name": u.resource.name, "version": u.version,
                 **({"grant": u.granted.grant} if u.granted is not None else {})}
                for u in self.used.values()]

    def deliver(self, rows: int, fmt: str) -> None:
        """Charge and log the result against the grant of every table read through one."""
        for u in self.used.values():
            if u.granted is not None:
                u.granted.deliver(rows, fmt)

    def explain(self, exc: ShudataError) -> ShudataError:
        """``exc``, or — when the engine could not find a column and a table was read through a
        grant — a refusal saying that a column outside the grant does not exist for the caller
        (``column_not_granted``, ``details.column`` naming it)."""
        found = _MISSING_COLUMN.search(exc.en or exc.zh)
        granted = [u for u in self.used.values() if u.granted is not None]
        if not isinstance(exc, InvalidInput) or found is None or not granted:
            return exc
        column = found.group(1) or found.group(2)
        if any(column in u.table.columns for u in self.used.values()):
            return exc  # a column that is there: the query's own mistake (a wrong alias …)
        zh = "；".join(f"{u.resource.code}：{'、'.join(u.table.columns)}" for u in granted)
        en = "; ".join(f"{u.resource.code}: {', '.join(u.table.columns)}" for u in granted)
        return InvalidInput(
            f"查询引用了不可查询的列“{column}”：经共享授权读取的资源只含授权的信息项（{zh}），其他信息项需另行申请",
            f"The query names the column {column!r}, which it cannot read: a resource read through a sharing "
            f"grant has the granted fields only ({en}); request others through sharing",
            code="column_not_granted",
            details={**(exc.details if isinstance(exc.details, dict) else {}), "column": column})

    def scrub(self, text: str) -> str:
        """Replace internal engine names in a message by resource codes."""
        for u in self.used.values():
            text = text.replace(u.source.name, u.resource.code)
        return text
