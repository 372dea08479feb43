"""CSRF findings of the adversarial sweep (2026-12-07).

1. The CSRF check skipped every request that carried *any* ``Authorization`` header, while
   the actor is taken from a bearer token only: a form post with the session cookie and
   ``Authorization: Basic …`` — what a browser attaches by itself to a cross-site post when
   a reverse proxy in front of the platform asks for Basic credentials — acted as the
   cookie's user without a CSRF token (``POST /tokens`` minted an API token for it).
2. A CSRF refusal (403 ``csrf_failed``) left no record in the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.security.models import ApiToken

PASSWORD = "Corr3ct-horse-9"


@pytest.fixture
def logged_in(client: TestClient, make_department: Callable[..., int], make_user: Callable[..., Actor]) -> Actor:
    """``client`` holds the session cookie of a department user."""
    user = make_user("csrf_user", Role.DEPT_USER, department_id=make_department(), password=PASSWORD)
    r = client.post("/login", data={"username": "csrf_user", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return user


def _tokens(rt: Runtime, user_id: int | None) -> int:
    with rt.transaction() as s:
        return len(s.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).all())


def _csrf_refusals(rt: Runtime) -> list[tuple[AuditEntry, dict[str, Any]]]:
    """The denied entries of code csrf_failed, each with its details."""
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied").order_by(AuditEntry.seq)).all()
        found = [(r, json.loads(r.details) if isinstance(r.details, str) else dict(r.details or {})) for r in rows]
        return [(r, d) for r, d in found if d.get("code") == "csrf_failed"]


@pytest.mark.parametrize("authorization", [
    "Basic Y3NyZjp1c2Vy",  # Basic credentials a browser sends by itself behind an authenticating proxy
    "Negotiate abc",
    "Bearer",  # no token after the scheme
    "bearer\t",
])
def test_form_post_with_a_non_bearer_authorization_header_still_needs_the_csrf_token(
        client: TestClient, rt: Runtime, logged_in: Actor, authorization: str) -> None:
    before = _tokens(rt, logged_in.user_id)
    r = client.post("/tokens", data={"name": "csrf"}, headers={"Authorization": authorization})
    assert r.status_code == 403, r.text[:200]
    assert r.json()["error"]["code"] == "csrf_failed"
    assert _tokens(rt, logged_in.user_id) == before  # nothing created


def test_csrf_refusal_is_audited_with_the_session_user(client: TestClient, rt: Runtime, logged_in: Actor) -> None:
    before = len(_csrf_refusals(rt))
    assert client.post("/tokens", data={"name": "csrf"}).status_code == 403
    refusals = _csrf_refusals(rt)
    assert len(refusals) == before + 1
    entry, details = refusals[-1]
    assert entry.actor == "csrf_user"
    assert entry.resource_id == "/tokens" and details["status"] == 403


def test_a_real_bearer_token_acts_as_the_token_and_needs_no_csrf(
        client: TestClient, rt: Runtime, logged_in: Actor, make_user: Callable[..., Actor],
        token_for: Callable[[str], dict[str, str]]) -> None:
    make_user("csrf_other", Role.DEPT_USER, department_id=logged_in.department_id)
    headers = token_for("csrf_other")
    r = client.get("/api/v1/me", headers=headers)
    assert r.json()["username"] == "csrf_other"  # the token, not the cookie
    r = client.post("/api/v1/tokens", json={"name": "via-bearer"}, headers=headers)
    assert r.status_code == 201, r.text[:200]


def test_the_form_with_its_csrf_token_still_works(client: TestClient, rt: Runtime, logged_in: Actor) -> None:
    import re

    csrf = re.search(r'<meta name="csrf-token" content="([^"]*)"', client.get("/tokens").text)
    assert csrf
    before = _tokens(rt, logged_in.user_id)
    r = client.post("/tokens", data={"name": "ok", "csrf_token": csrf.group(1)})
    assert r.status_code == 201
    assert _tokens(rt, logged_in.user_id) == before + 1
