"""The Delta Sharing protocol at ``/delta-sharing`` (bearer token = a consumer's API token).

Every response the protocol says carries ``Delta-Table-Version`` carries it; file URLs
answer HEAD with Content-Length and honour Range (Starlette's FileResponse).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import FileResponse, Response

from shudata.sharing.delta_sharing import protocol, server
from shudata.web.deps import SessionDep, SettingsDep, UserDep

router = APIRouter(prefix="/delta-sharing", tags=["delta sharing"])


def _ndjson(version: int, lines: list[dict[str, Any]]) -> Response:
    return Response(protocol.ndjson(lines), media_type=protocol.CONTENT_TYPE,
                    headers={"Delta-Table-Version": str(version), "delta-sharing-capabilities": protocol.CAPABILITIES})


@router.get("/shares", summary="列出共享 / list shares")
def list_shares(session: SessionDep, actor: UserDep) -> dict[str, Any]:
    return {"items": server.list_shares(session, actor)}


@router.get("/shares/{share}", summary="共享详情 / get share")
def get_share(share: str, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    server.tables(session, actor, share)  # checks the share is the caller's
    return {"share": {"name": share.lower(), "id": share.lower()}}


@router.get("/shares/{share}/schemas", summary="列出模式 / list schemas")
def list_schemas(share: str, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    server.tables(session, actor, share)
    return {"items": [{"name": server.SCHEMA, "share": share.lower()}]}


def _table_items(session: SessionDep, actor: UserDep, share: str) -> dict[str, Any]:
    return {"items": [{"name": t.name, "schema": server.SCHEMA, "share": share.lower(), "shareId": share.lower(),
                       "id": f"{t.grant.id}-{t.resource.id}"} for t in server.tables(session, actor, share)]}


@router.get("/shares/{share}/schemas/{schema}/tables", summary="列出表 / list tables")
def list_tables(share: str, schema: str, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    if schema.lower() != server.SCHEMA:
        return {"items": []}
    return _table_items(session, actor, share)


@router.get("/shares/{share}/all-tables", summary="列出全部表 / list all tables")
def all_tables(share: str, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    return _table_items(session, actor, share)


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/version", summary="表版本 / table version")
@router.head("/shares/{share}/schemas/{schema}/tables/{table}/version", include_in_schema=False)
def table_version(share: str, schema: str, table: str, session: SessionDep, actor: UserDep) -> Response:
    t = server.find_table(session, actor, share, schema, table)
    return Response(status_code=200, headers={"Delta-Table-Version": str(server.table_version(session, actor, t))})


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/metadata", summary="表元数据 / table metadata")
def table_metadata(share: str, schema: str, table: str, session: SessionDep, settings: SettingsDep,
                   actor: UserDep) -> Response:
    t = server.find_table(session, actor, share, schema, table)
    return _ndjson(*server.metadata(session, settings, actor, t))


@router.post("/shares/{share}/schemas/{schema}/tables/{table}/query", summary="读取表数据 / query table")
def table_query(share: str, schema: str, table: str, request: Request, session: SessionDep, settings: SettingsDep,
                actor: UserDep, body: dict[str, Any] | None = Body(None)) -> Response:
    t = server.find_table(session, actor, share, schema, table)
    version = (body or {}).get("version")
    base = str(request.base_url).rstrip("/")
    return _ndjson(*server.query(session, settings, actor, t, version=int(version) if version is not None else None,
                                 base_url=base))


@router.get("/files/{token}", summary="下载脱敏文件（签名短期链接，支持 Range）")
@router.head("/files/{token}", include_in_schema=False)
def file(token: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
    path = server.file_path(session, settings, token)
    return FileResponse(path, media_type="application/octet-stream")
