"""The Delta Sharing protocol at ``/delta-sharing`` (bearer token = a consumer's API token, or a
market buyer's share token: :mod:`shudata.market.delivery.sharing`).

Every response the protocol says carries ``Delta-Table-Version`` carries it (and ``HEAD`` on a
table answers it alone); NDJSON answers come in the format the ``delta-sharing-capabilities``
header asks for; list calls page with ``maxResults``/``pageToken``; file URLs answer HEAD with
Content-Length, honour Range and answer conditional requests (:mod:`shudata.web.files`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from shudata.core.errors import Unauthenticated
from shudata.market.delivery import sharing as market_sharing
from shudata.sharing.delta_sharing import protocol, server
from shudata.web.deps import SessionDep, SettingsDep, client_ip, get_actor
from shudata.web.files import PreparedFile, serve_file

router = APIRouter(prefix="/delta-sharing", tags=["delta sharing"])


def get_recipient(request: Request, session: SessionDep, settings: SettingsDep) -> server.Recipient:
    """Who the bearer token stands for: a market buyer's entitlement (its share token), else the
    platform account of an API token (its department's grants)."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if market_sharing.is_share_token(token):
        buyer = market_sharing.recipient(session, settings, token, ip=client_ip(request))
        request.state.actor = buyer.actor
        return buyer
    actor = get_actor(request, session)
    if not actor.is_authenticated:
        raise Unauthenticated("请提供有效的 API 令牌（Delta Sharing 配置文件中的 bearerToken）",
                              "Send a valid API token (the bearerToken of a Delta Sharing profile)",
                              code="unauthenticated")
    return server.GrantRecipient(session, settings, actor)


RecipientDep = Annotated[server.Recipient, Depends(get_recipient)]


def _ndjson(version: int, lines: list[dict[str, Any]], fmt: str = protocol.PARQUET) -> Response:
    return Response(protocol.ndjson(lines), media_type=protocol.CONTENT_TYPE,
                    headers={"Delta-Table-Version": str(version),
                             protocol.CAPABILITIES_HEADER: protocol.capabilities(fmt)})


def _format(request: Request) -> str:
    return protocol.response_format(request.headers.get(protocol.CAPABILITIES_HEADER))


MaxResults = Annotated[int | None, Query(alias="maxResults", description="每页最多条目数 / page size")]
PageToken = Annotated[str | None, Query(alias="pageToken", max_length=2000,
                                        description="上一页答复中的 nextPageToken")]


@router.get("/shares", summary="列出共享 / list shares")
def list_shares(session: SessionDep, settings: SettingsDep, who: RecipientDep, max_results: MaxResults = None,
                page_token: PageToken = None) -> dict[str, Any]:
    """本部门的共享（一个：dept_<部门 id>），按 maxResults/pageToken 分页。

    The caller's share (one per consumer department), paged with ``maxResults``/``pageToken``."""
    return server.listing(settings, who.shares(), scope="shares", max_results=max_results,
                          page_token=page_token)


@router.get("/shares/{share}", summary="共享详情 / get share")
def get_share(share: str, session: SessionDep, who: RecipientDep) -> dict[str, Any]:
    """共享详情；只能查看本部门的共享（否则 403）。 / A share of the caller's department (else 403)."""
    who.tables(share)  # checks the share is the caller's
    return {"share": {"name": share.lower(), "id": share.lower()}}


@router.get("/shares/{share}/schemas", summary="列出模式 / list schemas")
def list_schemas(share: str, session: SessionDep, settings: SettingsDep, who: RecipientDep,
                 max_results: MaxResults = None, page_token: PageToken = None) -> dict[str, Any]:
    """共享中的模式（只有 default），可分页。 / The share's schemas (``default``), paged."""
    who.tables(share)
    return server.listing(settings, [{"name": server.SCHEMA, "share": share.lower()}],
                          scope=f"schemas:{share.lower()}", max_results=max_results, page_token=page_token)


def _table_items(who: server.Recipient, share: str) -> list[dict[str, str]]:
    return [{"name": t.name, "schema": server.SCHEMA, "share": share.lower(), "shareId": share.lower(),
             "id": t.id} for t in who.tables(share)]


@router.get("/shares/{share}/schemas/{schema}/tables", summary="列出表 / list tables")
def list_tables(share: str, schema: str, session: SessionDep, settings: SettingsDep, who: RecipientDep,
                max_results: MaxResults = None, page_token: PageToken = None) -> dict[str, Any]:
    """模式中的表：每个可用授权一张表（别名或 r_<资源代码>），按名称排序分页。

    One table per usable grant (alias or ``r_<code>``), ordered by name, paged."""
    items = _table_items(who, share) if schema.lower() == server.SCHEMA else []
    return server.listing(settings, items, scope=f"tables:{share.lower()}:{schema.lower()}",
                          max_results=max_results, page_token=page_token)


@router.get("/shares/{share}/all-tables", summary="列出全部表 / list all tables")
def all_tables(share: str, session: SessionDep, settings: SettingsDep, who: RecipientDep,
               max_results: MaxResults = None, page_token: PageToken = None) -> dict[str, Any]:
    """共享中的全部表，按名称排序分页（官方客户端自动跟随 nextPageToken）。

    Every table of the share, ordered by name, paged (the client follows ``nextPageToken``)."""
    return server.listing(settings, _table_items(who, share), scope=f"all-tables:{share.lower()}",
                          max_results=max_results, page_token=page_token)


@router.head("/shares/{share}/schemas/{schema}/tables/{table}", summary="表版本（HEAD）/ table version")
def head_table(share: str, schema: str, table: str, session: SessionDep, who: RecipientDep) -> Response:
    """只返回 Delta-Table-Version 响应头（表的最新数据版本），不构建任何文件。

    Only the ``Delta-Table-Version`` header (the latest lake version); builds nothing."""
    t = server.find_table(who, share, schema, table)
    return Response(status_code=200, headers={"Delta-Table-Version": str(who.current_version(t))})


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/version", summary="表版本 / table version")
@router.head("/shares/{share}/schemas/{schema}/tables/{table}/version", include_in_schema=False)
def table_version(share: str, schema: str, table: str, session: SessionDep, who: RecipientDep,
                  starting_timestamp: Annotated[str | None, Query(alias="startingTimestamp", max_length=64)] = None
                  ) -> Response:
    """表的数据版本（Delta-Table-Version 响应头）；给出 startingTimestamp 时为该时刻或之后最早发布的版本。

    The table version header; with ``startingTimestamp``, the earliest version published at or after it."""
    t = server.find_table(who, share, schema, table)
    version = who.current_version(t, starting_timestamp)
    return Response(status_code=200, headers={"Delta-Table-Version": str(version)})


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/metadata", summary="表元数据 / table metadata")
def table_metadata(share: str, schema: str, table: str, request: Request, session: SessionDep,
                   settings: SettingsDep, who: RecipientDep) -> Response:
    """协议与元数据两行 NDJSON（按授权脱敏后的列）；声明主键的表带 delta.enableChangeDataFeed。

    Protocol and metadata lines (the granted, masked columns); the request's capabilities header
    picks the parquet or delta response format."""
    t = server.find_table(who, share, schema, table)
    fmt = _format(request)
    return _ndjson(*server.metadata(session, settings, who, t, fmt), fmt)


@router.post("/shares/{share}/schemas/{schema}/tables/{table}/query", summary="读取表数据 / query table")
def table_query(share: str, schema: str, table: str, request: Request, session: SessionDep, settings: SettingsDep,
                who: RecipientDep, body: dict[str, Any] | None = Body(None)) -> Response:
    """读取表：协议、元数据和签名短期文件链接；支持 version/timestamp 时间旅行与 limitHint（只给出前若干行）。

    Protocol, metadata and signed file URLs of the masked view; ``version``/``timestamp`` time
    travel; ``limitHint`` serves the first rows only; parquet or delta response format."""
    t = server.find_table(who, share, schema, table)
    fmt, body = _format(request), body or {}
    base = str(request.base_url).rstrip("/")
    return _ndjson(*server.query(session, settings, who, t, version=body.get("version"),
                                 timestamp=body.get("timestamp"), limit_hint=body.get("limitHint"),
                                 starting_version=body.get("startingVersion"),
                                 predicate_hints=body.get("predicateHints"),
                                 json_predicate_hints=body.get("jsonPredicateHints"), fmt=fmt, base_url=base), fmt)


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/changes", summary="读取变更数据 / table changes")
def table_changes(share: str, schema: str, table: str, request: Request, session: SessionDep,
                  settings: SettingsDep, who: RecipientDep,
                  starting_version: Annotated[int | None, Query(alias="startingVersion")] = None,
                  starting_timestamp: Annotated[str | None, Query(alias="startingTimestamp", max_length=64)] = None,
                  ending_version: Annotated[int | None, Query(alias="endingVersion")] = None,
                  ending_timestamp: Annotated[str | None, Query(alias="endingTimestamp", max_length=64)] = None
                  ) -> Response:
    """变更数据（change data feed）：各版本相对上一版本的插入、删除、更新前后行（按表声明的主键，按授权脱敏与过滤）。

    The change data feed between consecutive versions (by the table's declared key, masked and
    filtered by the grant); 400 for a table without a declared key."""
    t = server.find_table(who, share, schema, table)
    fmt = _format(request)
    base = str(request.base_url).rstrip("/")
    return _ndjson(*server.table_changes(session, settings, who, t, starting_version=starting_version,
                                         starting_timestamp=starting_timestamp, ending_version=ending_version,
                                         ending_timestamp=ending_timestamp, fmt=fmt, base_url=base), fmt)


@router.get("/files/{token}", summary="下载脱敏文件（签名短期链接，支持 Range）")
@router.head("/files/{token}", include_in_schema=False)
def file(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The masked file behind a signed URL (the grant re-checked on every request, ``HEAD`` and
    ranges included); its name hashes the grant's terms and the version, so it is its ETag."""
    payload = server.url_payload(settings, token)
    if payload.get("k") == market_sharing.SCOPE:
        path = market_sharing.file_path(session, settings, payload)
    else:
        path = server.file_path(session, settings, payload)
    etag = hashlib.sha256(f"delta-sharing:{path.parent.name}/{path.name}".encode()).hexdigest()[:32]
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return serve_file(request, PreparedFile(path=path, etag=etag, media_type="application/octet-stream",
                                            last_modified=modified))
