"""An upload abandoned half-way (forms sweep, item 3: the platform has no chunked or resumable
uploads — a file arrives in one streamed ``multipart/form-data`` body — so the hostile cases are
the connection dropped mid-body and a body that ends before its file part does).

Either way no version is published, the streamed temp file is removed, and a later upload of the
same entry works. A dropped connection used to end as a 500: "unexpected error" with a traceback
in the log and ``internal_error`` in the audit trail, for a client that had simply left; it is now
answered 499 (the client closed the request), logged at info level, and not audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shudata.audit.models import AuditEntry
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.lake.models import LakeVersion

BOUNDARY = "----sd-abandoned"
HEAD = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="半途.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n名称\r\n").encode()
ROWS = "甲\r\n".encode() * 50_000  # ~250 kB: several reads of the stream


@pytest.fixture
def steward(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
            token_for: Callable[[str], dict[str, str]]) -> tuple[dict[str, str], str]:
    actor = make_user("half_steward", Role.DATA_STEWARD, department_id=make_department("省公安厅"))
    data = ResourceCreate.model_validate({
        "code": "101001/000902", "name": "半途上传测试", "abstract": "测试",
        "information_items": [{"name": "名称", "data_type": "C", "length": 20}],
        "sharing": {"type": 1, "method": "接口"}})
    with rt.transaction() as s:
        code = register_resource(session=s, actor=actor, data=data).code
    return token_for("half_steward"), code


def _versions(rt: Runtime) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(LakeVersion)) or 0


def _internal_errors(rt: Runtime) -> int:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry.details)).all()
    return sum(1 for d in rows if "internal_error" in (d if isinstance(d, str) else json.dumps(d or {})))


def _temp_files(rt: Runtime) -> list[Path]:
    folder = rt.settings.data_dir / "tmp" / "uploads"
    return sorted(folder.glob("upload-*")) if folder.exists() else []


def _post_then_drop(app: Any, path: str, headers: dict[str, str], parts: list[bytes]) -> list[dict[str, Any]]:
    """POST ``parts`` as the body's first pieces, then the client is gone (``http.disconnect``)."""
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": p, "more_body": True} for p in parts]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "server": ("testserver", 80), "client": ("127.0.0.1", 50000),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    try:
        asyncio.run(app(scope, receive, send))
    except Exception as exc:
        sent.append({"type": "raised", "exc": repr(exc)})
    return sent


@pytest.mark.parametrize("endpoint", ["versions", "/api/v1/lake/preview", "/api/v1/privacy/scans/file"])
def test_a_connection_dropped_mid_upload_publishes_nothing_and_leaves_no_temp_file(
        client: TestClient, rt: Runtime, steward: Any, endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    headers, code = steward
    path = f"/api/v1/resources/{code}/versions" if endpoint == "versions" else endpoint
    versions, internal_errors = _versions(rt), _internal_errors(rt)
    sent = _post_then_drop(client.app, path, {**headers, "content-type": f"multipart/form-data; boundary={BOUNDARY}"},
                    [HEAD, ROWS[:100_000], ROWS[100_000:]])
    statuses = [m.get("status") for m in sent if m["type"] == "http.response.start"]
    assert statuses == [499] and not [m for m in sent if m["type"] == "raised"], sent  # not a server error
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # nothing for the operator to chase
    assert _internal_errors(rt) == internal_errors  # and no 500 in the audit trail
    assert _versions(rt) == versions  # nothing published
    assert _temp_files(rt) == []  # the streamed part is removed
    r = client.post(f"/api/v1/resources/{code}/versions", headers=headers,
                    files={"file": ("全.csv", "名称\r\n甲\r\n".encode(), "text/csv")})
    assert r.status_code == 201, r.text[:300]  # and the entry still takes a whole upload


def test_a_body_that_ends_inside_the_file_part_is_400_and_publishes_nothing(
        client: TestClient, rt: Runtime, steward: Any) -> None:
    headers, code = steward
    versions = _versions(rt)
    r = client.post(f"/api/v1/resources/{code}/versions", content=HEAD + ROWS,  # no closing boundary
                    headers={**headers, "content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_multipart"
    assert _versions(rt) == versions
    assert _temp_files(rt) == []
