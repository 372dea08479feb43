"""Delta Sharing server logic: who a bearer token stands for (a :class:`Recipient`), its shares and
tables, and the protocol's answers over the masked files of their terms.

A :class:`GrantRecipient` is a consumer department: its share is ``dept_<id>``, its tables its
usable grants. Other recipients (a market buyer's entitlement) implement the same protocol in the
layer that owns their terms, so the answers, signed URLs, head files and quota order below are
the same for everyone and this package never imports them.

Each table's data is the grant-masked view of a lake version, materialised once as a
Parquet file per (grant, version, grant state) and served through short-lived signed URLs
that re-check the grant on every fetch (a revoked grant stops file downloads too). Table
versions are the lake versions (time travel with ``version``/``timestamp``); a table with a
declared key has a change data feed (:mod:`.changes`); answers come in the parquet or the
delta response format (:func:`.protocol.response_format`); list calls page (:mod:`.paging`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import sqlglot
from sqlalchemy.orm import Session
from sqlglot import exp

from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import BadRequest, NotFound, PermissionDenied, Unauthenticated
from shudata.core.types import Actor
from shudata.lake.models import LakeVersion
from shudata.lake.reader import Layout, layout
from shudata.lake.service import get_version, latest_version
from shudata.query.engines.base import Limits, TableSource
from shudata.query.service import local_engine
from shudata.security.crypto.sm3 import constant_time_equal, hmac_sm3_hex, sm3_hex
from shudata.sharing.delivery import GrantView, check_quota, grant_view, log_delivery, masked_file
from shudata.sharing.delta_sharing import changes, paging, protocol, versions
from shudata.sharing.grants import active_grant, grants_of_department
from shudata.sharing.locks import KeyedLocks
from shudata.sharing.models import SharingGrant

SCHEMA = "default"
URL_TTL_S = 900
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def share_name(department_id: int) -> str:
    return f"dept_{department_id}"


def table_name(res: CatalogResource) -> str:
    """An ASCII table name: the alias when it is one, else ``r_<code>`` with ``/`` → ``_``."""
    if res.alias and _IDENT.match(res.alias):
        return res.alias.lower()
    return "r_" + res.code.replace("/", "_")


def _share_dept(actor: Actor, share: str) -> int:
    if actor.department_id is None:
        raise Unauthenticated("Delta Sharing 需要部门用户的 API 令牌", "A department user's API token is required",
                              code="department_token_required")
    if share.lower() != share_name(actor.department_id):
        raise PermissionDenied(f"无权访问共享 {share}：只能访问本部门的共享",
                               f"Share {share} belongs to another department",
                               details={"action": "sharing.grant.use", "resource_type": "share", "resource_id": share},
                               code="permission_denied")
    return actor.department_id


@dataclass(frozen=True)
class SharedTable:
    """A table of a share: its name, the catalog entry behind it, the protocol's table id and the
    recipient's own record of the terms it is served under (a :class:`SharingGrant`, …)."""

    name: str
    resource: CatalogResource
    id: str
    terms: Any

    @property
    def grant(self) -> SharingGrant:
        if not isinstance(self.terms, SharingGrant):
            raise TypeError("not a grant's table")
        return self.terms


@dataclass(frozen=True)
class Served:
    """The masked view of one version, as one Parquet file, under a recipient's terms (checked).
    ``scope`` and ``key`` name the folder its signed file URLs point into; ``context`` is the
    recipient's own view object (for its quota and its delivery log)."""

    path: Path
    version: LakeVersion
    scope: str
    key: int
    context: Any = None


class Recipient(Protocol):
    """Whoever a bearer token stands for: the shares and tables it may read and the terms each
    table is served under. Every method checks the terms (4xx when they no longer hold)."""

    def shares(self) -> list[dict[str, str]]: ...

    def tables(self, share: str) -> list[SharedTable]: ...

    def snapshot(self, t: SharedTable, *, version: object, timestamp: object) -> int | None:
        """The version a table query names (``None``: the latest)."""
        ...

    def current_version(self, t: SharedTable, starting_timestamp: str | None = None) -> int: ...

    def serve(self, t: SharedTable, version: int | None) -> Served: ...

    def admit(self, served: Served, rows: int) -> None:
        """Refuse (429) when serving ``rows`` more rows would pass the quota; ``0``: the call alone."""
        ...

    def delivered(self, served: Served, t: SharedTable, *, rows: int, channel: str) -> None:
        """Log (and count) ``rows`` rows served in one call."""
        ...


class GrantRecipient:
    """A consumer department's user, through their API token: one share (``dept_<id>``) whose
    tables are the department's usable grants."""

    def __init__(self, session: Session, settings: Settings, actor: Actor) -> None:
        self.session, self.settings, self.actor = session, settings, actor

    def shares(self) -> list[dict[str, str]]:
        if self.actor.department_id is None:
            return []
        name = share_name(self.actor.department_id)
        return [{"name": name, "id": name}]

    def tables(self, share: str) -> list[SharedTable]:
        dept = _share_dept(self.actor, share)
        out = []
        for g in grants_of_department(session=self.session, actor=self.actor, department_id=dept):
            res = self.session.get(CatalogResource, g.resource_id)
            if res is not None and not res.is_deleted and latest_version(self.session, res.id) is not None:
                out.append(SharedTable(table_name(res), res, f"{g.id}-{res.id}", g))
        return out

    def snapshot(self, t: SharedTable, *, version: object, timestamp: object) -> int | None:
        return versions.snapshot_version(self.session, t.resource.id, version=version, timestamp=timestamp)

    def current_version(self, t: SharedTable, starting_timestamp: str | None = None) -> int:
        """The table's current version (or the earliest published at or after ``starting_timestamp``),
        the grant checked, without compiling or building anything."""
        grant = active_grant(session=self.session, actor=self.actor, resource=t.resource)
        if starting_timestamp is not None:
            return versions.first_version_at_or_after(self.session, grant.resource_id, starting_timestamp)
        return get_version(self.session, grant.resource_id).version

    def view(self, t: SharedTable, version: int | None) -> GrantView:
        return grant_view(session=self.session, settings=self.settings, actor=self.actor,
                          resource_key=t.resource.code, version=version)

    def serve(self, t: SharedTable, version: int | None) -> Served:
        view = self.view(t, version)
        return Served(path=masked_file(self.settings, view), version=view.version, scope=GRANT_SCOPE,
                      key=view.grant.id, context=view)

    def admit(self, served: Served, rows: int) -> None:
        check_quota(self.session, served.context.grant, rows)

    def delivered(self, served: Served, t: SharedTable, *, rows: int, channel: str) -> None:
        log_delivery(self.session, self.actor, served.context, rows=rows, fmt="parquet", channel=channel)


GRANT_SCOPE = "g"


def find_table(who: Recipient, share: str, schema: str, table: str) -> SharedTable:
    if schema.lower() != SCHEMA:
        raise NotFound(f"模式 {schema} 不存在", f"Schema {schema} not found", code="schema_not_found")
    for t in who.tables(share):
        if t.name == table.lower():
            return t
    raise PermissionDenied(f"共享 {share} 中没有可用的表 {table}（未授权、已撤销或已过期）",
                           f"No usable table {table} in share {share} (not granted, revoked or expired)",
                           details={"action": "sharing.grant.use", "resource_type": "share_table",
                                    "resource_id": table}, code="permission_denied")


def listing(settings: Settings, items: list[dict[str, str]], *, scope: str, max_results: int | None,
            page_token: str | None) -> dict[str, Any]:
    """One page of a list call's ``items`` (ordered by name, then id) with its ``nextPageToken``."""
    chunk, token = paging.page(items, lambda i: f"{i['name']}\x00{i.get('id', '')}", secret=settings.secret_key,
                               scope=scope, max_results=max_results, page_token=page_token,
                               cap=settings.delta_sharing_page_size)
    return {"items": chunk, **({"nextPageToken": token} if token else {})}


def materialise(settings: Settings, view: GrantView) -> tuple[Path, Layout]:
    """The masked Parquet file of this view (shared with REST delivery, usually prepared in
    the background when the grant was made) and its cached layout (rows, schema)."""
    path = masked_file(settings, view)
    return path, layout([path])


def url_payload(settings: Settings, token: str) -> dict[str, Any]:
    """The checked payload of a signed file URL: ``k`` (the scope, ``g`` when absent), ``g`` (the
    folder's key), ``p`` (the file's name)."""
    payload = read_url_token(settings, token)
    name = str(payload.get("p", ""))
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise PermissionDenied("文件链接无效", "Invalid file URL", code="file_url_invalid")
    return payload


def sign_url_token(settings: Settings, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{body}.{hmac_sm3_hex(settings.secret_key.encode(), body.encode())}"


def read_url_token(settings: Settings, token: str) -> dict[str, Any]:
    body, _, sig = token.partition(".")
    if not sig or not constant_time_equal(sig, hmac_sm3_hex(settings.secret_key.encode(), body.encode())):
        raise PermissionDenied("文件链接签名无效", "Invalid file URL signature",
                               details={"action": "sharing.file.get", "resource_type": "file"},
                               code="permission_denied")
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if payload.get("exp", 0) < time.time() * 1000:
        raise PermissionDenied("文件链接已过期，请重新查询表", "File URL expired; query the table again",
                               details={"action": "sharing.file.get", "resource_type": "file"},
                               code="permission_denied")
    return payload


def _file_ref(settings: Settings, grant_id: int, path: Path, *, rows: int, version: LakeVersion,
              base_url: str, scope: str = GRANT_SCOPE) -> protocol.FileRef:
    """A signed, short-lived URL to one file of the grant's (or other terms') folder, and what the
    file holds."""
    expires = int((time.time() + URL_TTL_S) * 1000)
    payload: dict[str, Any] = {"g": grant_id, "p": path.name, "exp": expires}
    if scope != GRANT_SCOPE:
        payload["k"] = scope
    token = sign_url_token(settings, payload)
    return protocol.FileRef(url=f"{base_url}/delta-sharing/files/{token}", file_id=sm3_hex(path.name.encode())[:32],
                            size=path.stat().st_size, num_records=rows, version=version.version,
                            timestamp_ms=protocol.epoch_ms(version.created_at), expiration_ms=expires)


def _head_rows(limit_hint: int, total: int) -> int:
    """Rows served for a ``limitHint``: the hint rounded up to a power of two (so a few files
    serve every hint), at most the whole view.

    >>> [_head_rows(h, 1000) for h in (1, 3, 100, 999, 5000)]
    [1, 4, 128, 1000, 1000]
    """
    return min(total, 1 << max(0, limit_hint - 1).bit_length())


def head_file(settings: Settings, masked: Path, rows: int) -> Path:
    """The first ``rows`` rows of a masked file, as a file of their own (written once)."""
    path = masked.with_name(f"{masked.stem}-head{rows}.parquet")
    if path.exists():
        return path
    with _HEADS.hold(path):
        if not path.exists():
            tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
            try:
                local_engine(settings).copy_to_parquet(f"SELECT * FROM g LIMIT {int(rows)}",
                                                         {"g": TableSource(name="g", files=[masked])}, tmp,
                                                         Limits(timeout_s=max(settings.query_timeout_s, 600)))
                tmp.replace(path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
    return path


_HEADS = KeyedLocks()


def cdf_enabled(session: Session, t: SharedTable, delivered: list[str]) -> bool:
    """Whether the table has a change data feed for this consumer: a grant's table with a declared
    key whose columns the grant delivers."""
    if not isinstance(t.terms, SharingGrant):
        return False
    key = changes.declared_key(session, t.resource)
    return key is not None and all(c in delivered for c in key)


def _meta(session: Session, t: SharedTable, schema: pa.Schema, *, fmt: str, version: int,
          num_files: int, size: int) -> dict[str, Any]:
    table_id, cdf = t.id, cdf_enabled(session, t, schema.names)
    if fmt == protocol.DELTA:
        return protocol.delta_metadata_line(table_id, schema, version=version, num_files=num_files, size=size,
                                            name=t.name, description=t.resource.name, cdf=cdf,
                                            created_ms=protocol.epoch_ms(t.resource.created_at))
    return protocol.metadata_line(table_id, schema, version=version, num_files=num_files, size=size, name=t.name,
                                  description=t.resource.name, cdf=cdf)


def _protocol(fmt: str) -> dict[str, Any]:
    return protocol.delta_protocol_line() if fmt == protocol.DELTA else protocol.protocol_line()


def query(session: Session, settings: Settings, who: Recipient, t: SharedTable, *, version: object = None,
          timestamp: object = None, limit_hint: object = None, starting_version: object = None,
          predicate_hints: object = None, json_predicate_hints: object = None,
          fmt: str = protocol.PARQUET, base_url: str) -> tuple[int, list[dict[str, Any]]]:
    """The NDJSON lines answering a table query (protocol, metaData, the file), as of the latest
    version or the one ``version``/``timestamp`` name.

    The file is the whole masked view (``numRecords`` states its rows), or — with a
    ``limitHint`` below the view's rows — a file of the view's first rows (the hint rounded up
    to a power of two, :func:`_head_rows`), so a client that wants ten rows does not fetch a
    million; ``limitHint: 0`` answers no file. ``predicateHints`` are hints the protocol lets a
    server ignore, and this one does (the client applies them itself) — but a hint naming a
    column the recipient is not delivered is refused (403 ``field_not_delivered``): it asks for
    a field outside the terms. The quota is checked for the rows served, and the delivery logged
    with them.
    """
    if starting_version is not None:  # the streaming form of a query: this server answers it at /changes
        raise BadRequest("本服务器的表查询不支持 startingVersion（流式读取）；请改用变更数据接口 "
                         "GET …/changes?startingVersion=N", "startingVersion in a table query (streaming) is not "
                         "supported here; read GET …/changes?startingVersion=N instead",
                         code="query_starting_version_unsupported")
    number = who.snapshot(t, version=version, timestamp=timestamp)
    hint = _limit_hint(limit_hint)
    served = who.serve(t, number)
    who.admit(served, 0)  # the call quota before any work
    path, lay = served.path, layout([served.path])
    _check_hinted_columns(t, lay.schema.names, predicate_hints, json_predicate_hints)
    rows, files = lay.total, [path]
    if hint is not None and hint < lay.total:
        rows = _head_rows(hint, lay.total) if hint > 0 else 0
        files = [head_file(settings, path, rows)] if rows else []
    who.admit(served, rows)
    who.delivered(served, t, rows=rows, channel="delta-sharing")
    travel = version is not None or timestamp is not None
    refs = [_file_ref(settings, served.key, f, rows=rows, version=served.version, base_url=base_url,
                      scope=served.scope) for f in files]
    lines = [_protocol(fmt), _meta(session, t, lay.schema, fmt=fmt, version=served.version.version,
                                   num_files=1, size=path.stat().st_size)]
    if fmt == protocol.DELTA:
        lines += [protocol.delta_file_line(r, with_version=travel) for r in refs]
    else:
        lines += [protocol.file_line(r, with_timestamp=travel) for r in refs]
    return served.version.version, lines


def _limit_hint(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest("limitHint 须为非负整数", "limitHint must be a non-negative integer", code="bad_limit_hint")
    return value


def hinted_columns(predicate_hints: object, json_predicate_hints: object) -> set[str]:
    """The column names the query's hints name: ``column`` leaves of ``jsonPredicateHints`` and the
    columns of each SQL ``predicateHints`` entry (an entry that does not parse names none: it is
    a hint, ignored either way).

    >>> sorted(hinted_columns(["a = 1", "not sql ((("], json.dumps({"op": "equal", "children": [
    ...     {"op": "column", "name": "b", "valueType": "int"}, {"op": "literal", "value": "1"}]})))
    ['a', 'b']
    """
    names: set[str] = set()
    if isinstance(predicate_hints, list):
        for text in predicate_hints:
            if isinstance(text, str):
                try:
                    names |= {c.name for c in sqlglot.parse_one(text, read="duckdb").find_all(exp.Column)}
                except sqlglot.errors.SqlglotError:
                    continue
    tree: object = json_predicate_hints
    if isinstance(tree, str):
        try:
            tree = json.loads(tree)
        except ValueError:
            tree = None
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("op") == "column" and isinstance(node.get("name"), str):
                names.add(node["name"])
            stack.extend(node.get("children") or [])
    return names


def _check_hinted_columns(t: SharedTable, delivered: list[str], predicate_hints: object,
                          json_predicate_hints: object) -> None:
    outside = sorted(hinted_columns(predicate_hints, json_predicate_hints) - set(delivered))
    if outside:
        raise PermissionDenied(f"查询条件中的字段 {'、'.join(outside)} 不在本表交付的字段中（可用字段："
                               f"{'、'.join(delivered)}）", f"The hints name fields outside the delivered ones: "
                               f"{', '.join(outside)}", code="field_not_delivered",
                               details={"action": "sharing.table.query", "resource_type": "share_table",
                                        "resource_id": t.name, "fields": outside})


def metadata(session: Session, settings: Settings, who: Recipient, t: SharedTable,
             fmt: str = protocol.PARQUET) -> tuple[int, list[dict[str, Any]]]:
    served = who.serve(t, None)
    lay = layout([served.path])
    return served.version.version, [
        _protocol(fmt), _meta(session, t, lay.schema, fmt=fmt, version=served.version.version, num_files=1,
                              size=served.path.stat().st_size)]


def table_changes(session: Session, settings: Settings, who: Recipient, t: SharedTable, *,
                  starting_version: int | None = None, starting_timestamp: str | None = None,
                  ending_version: int | None = None, ending_timestamp: str | None = None,
                  fmt: str = protocol.PARQUET, base_url: str) -> tuple[int, list[dict[str, Any]]]:
    """The change data feed of the versions asked for (:mod:`.changes`): per version, the
    inserted rows of a table's first version (its masked file, an ``add``), else the file of
    what changed from the version before (a ``cdf``/``cdc`` file with ``_change_type``); a
    version where nothing delivered changed has no file. The grant is checked first, the day's
    row quota for every row served, and the delivery logged. Only a grant's tables have a feed
    (400 ``cdf_not_offered`` for others: their metadata never announces one)."""
    if not isinstance(who, GrantRecipient) or not isinstance(t.terms, SharingGrant):
        raise BadRequest("该表不提供变更数据（change data feed）；请按版本读取整张表（version / timestamp）",
                         "This table has no change data feed; read whole versions (version / timestamp)",
                         code="cdf_not_offered")
    actor = who.actor
    grant = active_grant(session=session, actor=actor, resource=t.resource)
    key = changes.require_key(session, t.resource)
    span = versions.change_range(session, t.resource.id, starting_version=starting_version,
                                 starting_timestamp=starting_timestamp, ending_version=ending_version,
                                 ending_timestamp=ending_timestamp)
    check_quota(session, grant, 0)
    served: list[tuple[protocol.FileRef, str]] = []
    prev_view: GrantView | None = None
    before = versions.previous(session, t.resource.id, span[0])
    if before is not None:
        prev_view = who.view(t, before.version)
    for v in span:
        cur = who.view(t, v.version)
        path = masked_file(settings, cur) if prev_view is None else changes.change_file(settings, prev_view, cur, key)
        rows = layout([path]).total
        if rows:
            served.append((_file_ref(settings, grant.id, path, rows=rows, version=v, base_url=base_url),
                           "add" if prev_view is None else "cdf"))
        prev_view = cur
    total = sum(f.num_records for f, _ in served)
    check_quota(session, grant, total)
    if prev_view is None:  # the span is never empty (versions_in refuses an empty range)
        raise RuntimeError("empty change span")
    log_delivery(session, actor, prev_view, rows=total, fmt="parquet", channel="delta-sharing-cdf")
    schema = layout([masked_file(settings, prev_view)]).schema
    start = span[0].version
    lines = [_protocol(fmt), _meta(session, t, schema, fmt=fmt, version=start, num_files=len(served),
                                   size=sum(f.size for f, _ in served))]
    if fmt == protocol.DELTA:
        lines += [protocol.delta_file_line(f, "add" if a == "add" else "cdc") for f, a in served]
    else:
        lines += [protocol.change_line(f, a) for f, a in served]
    return start, lines


def file_path(session: Session, settings: Settings, payload: dict[str, Any]) -> Path:
    """Resolve a grant's signed file URL (:func:`url_payload`); the grant must still be usable at
    fetch time."""
    grant = session.get(SharingGrant, int(payload["g"]))
    if grant is None or grant.revoked_at is not None or grant.expires_at <= utcnow():
        raise PermissionDenied("授权已撤销或过期，文件不可再下载", "Grant revoked or expired; file no longer available",
                               details={"action": "sharing.file.get", "resource_type": "grant",
                                        "resource_id": str(payload.get("g"))}, code="permission_denied")
    path = settings.data_dir / "delivery" / f"g{grant.id}" / str(payload["p"])
    if not path.is_file():
        raise NotFound("文件已不存在，请重新查询表", "File no longer exists; query the table again", code="file_gone")
    return path


def profile(endpoint: str, token: str, expires_at: dt.datetime | None = None) -> dict[str, Any]:
    """A Delta Sharing profile file for a consumer (``expirationTime``: when the token expires,
    ISO 8601 in UTC, as the protocol's profile format has it).

    >>> profile("https://h/delta-sharing", "sd_x", dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC))["expirationTime"]
    '2025-01-02T03:04:05.000Z'
    """
    out: dict[str, Any] = {"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token}
    if expires_at is not None:
        when = (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        out["expirationTime"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return out
