"""Cross-node sharing: a department on one node requests an entry held on another.

1. The requester node sends ``request.submit`` (queued in the outbox, retried).
2. The holding node files it as an ordinary request of a peer department (same rules:
   无条件 granted at once, 有条件 decided by its steward within the deadline, 不予 refused)
   and answers with ``request.decision`` when decided.
3. The requester node fetches masked rows with a signed ``data.fetch``; the holding node
   delivers through the same grant view (fields, row filter, masking, quota, delivery log)
   and signs its answer: one page with the ``total`` and its ``offset``; the requester asks
   for the following pages (of the same version) until it holds every granted row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.security.authz import require
from shudata.security.models import Department
from shudata.sharing import actions as A
from shudata.sharing import delivery
from shudata.sharing.models import RemoteRequest, SharingGrant, SharingRequest
from shudata.sharing.nodes import service as nodes
from shudata.sharing.nodes.models import FederatedEntry
from shudata.sharing.schemas import RequestCreate
from shudata.sharing.service import request_access
from shudata.standards.uscc import is_valid_uscc

MAX_FETCH_ROWS = 100_000


# -- requester node ----------------------------------------------------------------------

def request_remote(*, session: Session, actor: Actor, settings: Settings, node_code: str,
                   data: RequestCreate) -> RemoteRequest:
    """File a request for an entry published by ``node_code`` (``data.resource`` is its code)."""
    require(actor, A.REQUEST_CREATE)
    entry = session.scalar(select(FederatedEntry).where(FederatedEntry.node_code == node_code,
                                                        FederatedEntry.code == data.resource))
    if entry is None:
        raise NotFound(f"节点 {node_code} 的共享清单中没有资源 {data.resource}",
                       f"Node {node_code} publishes no resource {data.resource}", code="resource_not_found")
    items = {str(i["name"]) for i in entry.information_items or []}
    unknown = [f for f in data.fields if f not in items]
    if unknown:
        raise InvalidInput(f"资源“{entry.name}”没有这些信息项：{'、'.join(unknown)}",
                           f"Resource {entry.code} has no fields {', '.join(unknown)}", code="unknown_field")
    dept = session.get(Department, actor.department_id) if actor.department_id else None
    if dept is None:
        raise InvalidInput("只有部门用户可以申请共享数据", "Only department users can request shared data",
                           code="department_user_required")
    rr = RemoteRequest(node_code=node_code, resource_code=entry.code, resource_name=entry.name,
                       requester_department_id=dept.id, requester=actor.username, request=data.model_dump(mode="json"))
    session.add(rr)
    session.flush()
    nodes.send(session=session, settings=settings, peer_code=node_code, msg_type="request.submit", body={
        "local_id": rr.id, "requester": actor.username, "request": data.model_dump(mode="json"),
        "department": {"name": dept.name, "uscc": dept.uscc, "region_code": dept.region_code}})
    record(session, actor, events.SharingRemoteRequestCreate(
        resource_id=str(rr.id), details={"node": node_code, "resource": entry.code}))
    return rr


def _on_decision(session: Session, settings: Settings, envelope: dict[str, Any]) -> dict[str, Any]:
    body = envelope.get("body", {})
    rr = session.get(RemoteRequest, int(body["local_id"]))
    if rr is None or rr.node_code != envelope.get("from"):
        raise InvalidInput("未知的跨节点申请", "Unknown cross-node request", code="remote_request_unknown")
    rr.status, rr.remote_request_id = str(body["status"]), int(body["remote_request_id"])
    rr.grant_id, rr.decision_reason, rr.updated_at = body.get("grant_id"), body.get("reason"), utcnow()
    return {"ok": True}


def fetch_remote(*, session: Session, actor: Actor, settings: Settings, remote_request_id: int,
                 version: int | None = None) -> pa.Table:
    """Fetch the masked rows of a granted cross-node request (signed both ways)."""
    require(actor, A.REQUEST_CREATE)
    rr = session.get(RemoteRequest, remote_request_id)
    if rr is None or rr.requester_department_id != actor.department_id:
        raise NotFound(f"跨节点申请 {remote_request_id} 不存在", f"Cross-node request {remote_request_id} not found",
                       code="remote_request_not_found")
    if rr.grant_id is None:
        raise PermissionDenied("该申请尚未获得授权", "This request has no grant yet",
                               details={"action": A.GRANT_USE.name, "resource_id": rr.resource_code},
                               code="permission_denied")
    columns: list[str] = []
    rows: list[list[Any]] = []
    pages = 0
    while True:  # every granted row: pages of the holding node's size, all of one version
        body = _fetch_page(session, settings, rr, {"grant_id": rr.grant_id, "version": version,
                                                   "requester": actor.username, "offset": len(rows)})
        columns, version, pages = body["columns"], body["version"], pages + 1
        rows += body["rows"]
        total = int(body.get("total", len(rows)))  # a node that does not page sends everything it sends at once
        if not body["rows"] or len(rows) >= total:
            break
    if len(rows) < total:
        raise PermissionDenied(f"节点 {rr.node_code} 只提供了 {len(rows)} 行，少于授权的 {total} 行",
                               f"Node {rr.node_code} delivered {len(rows)} of {total} granted rows",
                               details={"action": A.GRANT_USE.name, "resource_id": rr.resource_code},
                               code="permission_denied")
    record(session, actor, events.SharingRemoteDataReceive(
        resource_id=str(rr.id), details={"rows": len(rows), "version": version,
                                         "pages": pages}))
    if not rows:
        return pa.table({c: pa.array([], pa.null()) for c in columns})
    return pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows])


def _fetch_page(session: Session, settings: Settings, rr: RemoteRequest, payload: dict[str, Any]) -> dict[str, Any]:
    request = nodes.signed_reply(session, settings, rr.node_code, "data.fetch", payload)
    peer = nodes.peer(session, rr.node_code)
    resp = httpx.post(f"{peer.base_url}/api/v1/federation/inbox", json=request, timeout=60)
    if resp.status_code >= 400:
        message = resp.json().get("error", {}).get("message", resp.text[:200])
        raise PermissionDenied(f"节点 {rr.node_code} 拒绝提供数据：{message}",
                               f"Node {rr.node_code} refused: {message}",
                               details={"action": A.GRANT_USE.name, "resource_id": rr.resource_code},
                               code="permission_denied")
    body: dict[str, Any] = nodes.check_reply(session, resp.json(), rr.node_code)
    return body


# -- holding node ------------------------------------------------------------------------

def _peer_department(session: Session, node: str, info: dict[str, Any]) -> Department:
    uscc = str(info.get("uscc", "")).upper()
    if not is_valid_uscc(uscc):
        raise InvalidInput("对方部门的统一社会信用代码无效", "The peer department's credit code is invalid",
                           code="invalid_credit_code")
    dept = session.scalar(select(Department).where(Department.uscc == uscc))
    if dept is None:
        dept = Department(name=f"{info.get('name', uscc)}（{node} 节点）"[:200], uscc=uscc,
                          region_code=str(info.get("region_code") or node)[:6])
        session.add(dept)
        session.flush()
    return dept


def _on_submit(session: Session, settings: Settings, envelope: dict[str, Any]) -> dict[str, Any]:
    node, body = str(envelope["from"]), envelope.get("body", {})
    dept = _peer_department(session, node, body.get("department", {}))
    actor = Actor.peer(node, dept.id, str(body.get("requester", "?"))[:40])
    read = request_access(session=session, actor=actor, settings=settings,
                          data=RequestCreate.model_validate(body["request"]))
    req = session.get(SharingRequest, read.id)
    if req is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("req is unexpectedly None")
    req.origin_node, req.origin_request_id = node, str(body["local_id"])
    if req.status != "pending":
        nodes.notify_origin(session, settings, req)
    return {"request_id": req.id, "status": req.status}


def _on_fetch(session: Session, settings: Settings, envelope: dict[str, Any]) -> dict[str, Any]:
    node, body = str(envelope["from"]), envelope.get("body", {})
    grant = session.get(SharingGrant, int(body.get("grant_id", 0)))
    req = session.get(SharingRequest, grant.request_id) if grant else None
    if grant is None or req is None or req.origin_node != node:
        raise PermissionDenied("该节点没有这项授权", "No such grant for this node",
                               details={"action": A.GRANT_USE.name, "resource_type": "sharing_grant"},
                               code="permission_denied")
    actor = Actor.peer(node, grant.consumer_department_id, str(body.get("requester", "?"))[:40])

    res = session.get(CatalogResource, grant.resource_id)
    if res is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("res is unexpectedly None")
    version = body.get("version")
    view = delivery.grant_view(session=session, settings=settings, actor=actor, resource_key=res.code,
                               version=int(version) if version is not None else None)
    offset = max(0, int(body.get("offset", 0)))
    page, total = delivery.fetch_page(session=session, settings=settings, actor=actor, view=view, offset=offset,
                                      limit=MAX_FETCH_ROWS, channel="federation")
    rows = [[_jsonable(v) for v in r.values()] for r in page.to_pylist()]
    # one page (at most MAX_FETCH_ROWS / query_max_rows rows) with the total and where it starts: the
    # requester node asks for the next page until it holds every granted row
    return nodes.signed_reply(session, settings, node, "data.result",
                              {"grant_id": grant.id, "version": view.version.version, "columns": page.schema.names,
                               "rows": rows, "total": total, "offset": offset})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


HANDLERS: dict[str, nodes.Handler] = {**nodes.HANDLERS, "request.submit": _on_submit,
                                      "request.decision": _on_decision, "data.fetch": _on_fetch}


def handle_inbox(*, sessions: Any, settings: Settings, envelope: dict[str, Any], signature: str) -> dict[str, Any]:
    return nodes.handle_inbox(sessions=sessions, settings=settings, envelope=envelope, signature=signature,
                              handlers=HANDLERS)
