"""Table names of a query resolved against the catalog and the lake.

A name is a resource code (``"101001/000123"``), an alias (``enterprise_credit``) or the
resource's name (``"四川省企业信用信息"``). The caller must be allowed to read the
resource's data; the version is the newest unless the query asks for another one.
What the caller sees of each resource is the combined restriction of the
``query_table_access`` hook (:mod:`shudata.query.policies`: masking, grants) and the
caller's own overrides. Each resolved resource gets a random engine name, so user SQL can never name the
underlying view directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shudata.catalog.access import find_resource, require_read_data
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import NotFound, ShudataError
from shudata.core.plugins import PluginManager, plugins_of
from shudata.core.types import Actor
from shudata.lake.service import get_version, version_files
from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.engines.base import Engine, TableSource, view_name
from shudata.query.errors import details, table_not_found
from shudata.query.policies import access_for


@dataclass(frozen=True)
class UsedTable:
    """What one resolved name points at."""

    resource: CatalogResource
    version: int
    table: ResolvedTable
    source: TableSource


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
        require_read_data(self.actor, res)
        if res.id not in self.used:
            self.used[res.id] = self._bind(res)
        return self.used[res.id].table

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
        empty = self.engine.query(f'SELECT * FROM "{source.name}" LIMIT 0', {source.name: source})
        return tuple(empty.schema.names)

    @property
    def sources(self) -> dict[str, TableSource]:
        """Engine name -> files, for every table the query reads."""
        return {u.source.name: u.source for u in self.used.values()}

    def audit_tables(self) -> list[dict[str, Any]]:
        return [{"code": u.resource.code, "name": u.resource.name, "version": u.version}
                for u in self.used.values()]

    def scrub(self, text: str) -> str:
        """Replace internal engine names in a message by resource codes."""
        for u in self.used.values():
            text = text.replace(u.source.name, u.resource.code)
        return text
