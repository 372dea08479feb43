"""Delta Sharing server logic: shares = a consumer department's grants, tables = granted entries.

Each table's data is the grant-masked view of a lake version, materialised once as a
Parquet file per (grant, version, grant state) and served through short-lived signed URLs
that re-check the grant on every fetch (a revoked grant stops file downloads too).
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import NotFound, PermissionDenied, Unauthenticated
from shudata.core.types import Actor
from shudata.lake.reader import Layout, layout
from shudata.lake.service import get_version, latest_version
from shudata.security.crypto.sm3 import constant_time_equal, hmac_sm3_hex, sm3_hex
from shudata.sharing.delivery import GrantView, check_quota, grant_view, log_delivery, masked_file
from shudata.sharing.delta_sharing import protocol
from shudata.sharing.grants import active_grant, grants_of_department
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
    name: str
    grant: SharingGrant
    resource: CatalogResource


def tables(session: Session, actor: Actor, share: str) -> list[SharedTable]:
    dept = _share_dept(actor, share)
    out = []
    for g in grants_of_department(session=session, actor=actor, department_id=dept):
        res = session.get(CatalogResource, g.resource_id)
        if res is not None and not res.is_deleted and latest_version(session, res.id) is not None:
            out.append(SharedTable(table_name(res), g, res))
    return out


def list_shares(session: Session, actor: Actor) -> list[dict[str, str]]:
    if actor.department_id is None:
        return []
    name = share_name(actor.department_id)
    return [{"name": name, "id": name}]


def find_table(session: Session, actor: Actor, share: str, schema: str, table: str) -> SharedTable:
    if schema.lower() != SCHEMA:
        raise NotFound(f"模式 {schema} 不存在", f"Schema {schema} not found", code="schema_not_found")
    for t in tables(session, actor, share):
        if t.name == table.lower():
            return t
    raise PermissionDenied(f"共享 {share} 中没有可用的表 {table}（未授权、已撤销或已过期）",
                           f"No usable table {table} in share {share} (not granted, revoked or expired)",
                           details={"action": "sharing.grant.use", "resource_type": "share_table",
                                    "resource_id": table}, code="permission_denied")


def view_for(session: Session, settings: Settings, actor: Actor, t: SharedTable, version: int | None) -> GrantView:
    return grant_view(session=session, settings=settings, actor=actor, resource_key=t.resource.code, version=version)


def table_version(session: Session, actor: Actor, t: SharedTable) -> int:
    """The table's current version, the grant checked, without compiling or building anything."""
    grant = active_grant(session=session, actor=actor, resource=t.resource)
    return get_version(session, grant.resource_id).version


def materialise(settings: Settings, view: GrantView) -> tuple[Path, Layout]:
    """The masked Parquet file of this view (shared with REST delivery, usually prepared in
    the background when the grant was made) and its cached layout (rows, schema)."""
    path = masked_file(settings, view)
    return path, layout([path])


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


def query(session: Session, settings: Settings, actor: Actor, t: SharedTable, *, version: int | None,
          base_url: str) -> tuple[int, list[dict[str, Any]]]:
    """The NDJSON lines answering a table query (protocol, metaData, one file).

    The one file is the whole masked view: every granted row, ``numRecords`` stating how many.
    A request's ``limitHint`` and ``predicateHints`` are hints the protocol lets a server
    ignore, and this one does (the client applies them itself), so nothing is ever cut here.
    The day's row quota is checked for the whole file, and the delivery logged with its rows.
    """
    view = view_for(session, settings, actor, t, version)
    check_quota(session, view.grant, 0)  # the call quota before any work
    path, lay = materialise(settings, view)
    rows, schema = lay.total, lay.schema
    check_quota(session, view.grant, rows)
    expires = int((time.time() + URL_TTL_S) * 1000)
    token = sign_url_token(settings, {"g": view.grant.id, "p": path.name, "exp": expires})
    size = path.stat().st_size
    file_id = sm3_hex(path.name.encode())[:32]
    log_delivery(session, actor, view, rows=rows, fmt="parquet", channel="delta-sharing")
    lines = [protocol.protocol_line(),
             protocol.metadata_line(f"{view.grant.id}-{t.resource.id}", schema, version=view.version.version,
                                    num_files=1, size=size, name=t.name, description=t.resource.name),
             protocol.file_line(url=f"{base_url}/delta-sharing/files/{token}", file_id=file_id, size=size,
                                num_records=rows, version=view.version.version, expiration_ms=expires)]
    return view.version.version, lines


def metadata(session: Session, settings: Settings, actor: Actor,
             t: SharedTable) -> tuple[int, list[dict[str, Any]]]:
    view = view_for(session, settings, actor, t, None)
    path, lay = materialise(settings, view)
    schema = lay.schema
    return view.version.version, [
        protocol.protocol_line(),
        protocol.metadata_line(f"{view.grant.id}-{t.resource.id}", schema, version=view.version.version, num_files=1,
                               size=path.stat().st_size, name=t.name, description=t.resource.name)]


def file_path(session: Session, settings: Settings, token: str) -> Path:
    """Resolve a signed file URL; the grant must still be usable at fetch time."""
    payload = read_url_token(settings, token)
    grant = session.get(SharingGrant, int(payload["g"]))
    if grant is None or grant.revoked_at is not None or grant.expires_at <= utcnow():
        raise PermissionDenied("授权已撤销或过期，文件不可再下载", "Grant revoked or expired; file no longer available",
                               details={"action": "sharing.file.get", "resource_type": "grant",
                                        "resource_id": str(payload.get("g"))}, code="permission_denied")
    name = str(payload["p"])
    if "/" in name or "\\" in name or name.startswith("."):
        raise PermissionDenied("文件链接无效", "Invalid file URL", code="file_url_invalid")
    path = settings.data_dir / "delivery" / f"g{grant.id}" / name
    if not path.is_file():
        raise NotFound("文件已不存在，请重新查询表", "File no longer exists; query the table again", code="file_gone")
    return path


def profile(endpoint: str, token: str) -> dict[str, Any]:
    """A Delta Sharing profile file for a consumer."""
    return {"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token}
