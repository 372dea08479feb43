"""Requests racing past a duplicate check, found by the adversarial sweep (2026-12-07).

Ten identical requests sent at once to the demo server: ``POST /api/v1/resources`` with the
same ``code`` (7 of 10 answered 500), ``POST /api/v1/query/saved`` with the same name (4 of
10 answered 500). Each service checks for a duplicate and then inserts; requests that all
passed the check before any of them committed broke the store's unique constraint
(``IntegrityError``), which reached the catch-all handler. Now the loser of such a race gets
409 ``concurrent_conflict`` (audited, nothing of it kept).

The race window is reproduced deterministically by taking the duplicate check away (as if
the other request had passed it at the same moment), and once for real with threads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shudata.audit.models import AuditEntry
from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.query import saved as saved_queries
from shudata.query.models import QuerySaved


@pytest.fixture
def staff(make_department: Callable[..., int], make_user: Callable[..., Actor],
          token_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """Headers of a data steward of 省公安厅."""
    make_user("race_steward", Role.DATA_STEWARD, department_id=make_department("省公安厅"))
    return token_for("race_steward")


def _conflicts_audited(rt: Runtime) -> int:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry.details).where(AuditEntry.outcome == "rejected")).all()
    return sum(1 for d in rows if (json.loads(d) if isinstance(d, str) else d or {}).get("code")
               == "concurrent_conflict")


def test_saved_query_name_race_is_a_409_and_keeps_one(client: TestClient, rt: Runtime, staff: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # both requests pass the name check before either inserts
    monkeypatch.setattr(saved_queries, "_check_name_free", lambda *a, **k: None)
    body = {"name": "同名查询", "sql": "SELECT 1"}
    first = client.post("/api/v1/query/saved", json=body, headers=staff)
    assert first.status_code == 201, first.text
    audited = _conflicts_audited(rt)
    second = client.post("/api/v1/query/saved", json=body, headers=staff)
    assert second.status_code == 409, second.text[:300]
    assert second.json()["error"]["code"] == "concurrent_conflict"
    assert "重试" in second.json()["error"]["message"]
    assert _conflicts_audited(rt) == audited + 1
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(QuerySaved).where(QuerySaved.name == "同名查询")) == 1


def test_same_resource_code_sent_at_once_never_answers_5xx(app: Any, rt: Runtime, staff: dict[str, str]) -> None:
    body = {"name": "并发登记", "abstract": "同一代码同时登记", "code": "101001/000903",
            "sharing": {"type": 1, "method": "接口"}}
    with TestClient(app, raise_server_exceptions=False) as c, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: c.post("/api/v1/resources", json={**body, "name": f"并发登记{i}"},
                                                  headers=staff).status_code, range(8)))
    assert set(statuses) <= {201, 409, 503}, statuses  # 503: the store was busy, nothing written
    with rt.transaction() as s:
        stored = s.scalar(select(func.count()).select_from(CatalogResource)
                          .where(CatalogResource.code == "101001/000903"))
    assert stored == statuses.count(201) == 1 or (stored == 0 and 201 not in statuses)


def test_a_not_null_violation_is_a_422_not_a_conflict(app: Any, rt: Runtime) -> None:
    """Only a unique (or foreign-key) violation is a race; a NOT NULL violation is a value the
    service's validation let through: 422 invalid_value (retrying would fail the same way), never
    a 409 that tells the person to retry, never a 500, and nothing written."""

    def broken() -> None:
        with rt.transaction() as s:
            s.add(QuerySaved(name=None, sql=None))  # what a validation gap would store
            s.flush()

    app.add_api_route("/api/v1/_test_not_null", broken, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/_test_not_null")
    assert r.status_code == 422, r.text[:300]
    assert r.json()["error"]["code"] == "invalid_value"
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(QuerySaved)) == 0
