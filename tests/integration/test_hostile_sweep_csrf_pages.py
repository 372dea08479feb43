"""CSRF refusals of the UI's own forms answer as the UI does (follow-up of the hostile sweep).

A person whose form went stale (logged in again in another tab, or the session's token
changed) and who submits it got the raw JSON ``{"error": {"code": "csrf_failed", …}}`` in the
browser. A refusal of a request from the UI — a page that accepts HTML, or an htmx request —
now renders the platform's error page (an htmx fragment for htmx), in the platform's language,
with a link that opens the form afresh; it is still a 403 and still audited. API clients
(JSON, no HTML in Accept, or an ``/api`` path) keep the JSON answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

PASSWORD = "Corr3ct-horse-9"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "Referer": "http://testserver/tokens"}
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/audit", "Accept": "*/*"}


@pytest.fixture
def logged_in(client: TestClient, make_department: Callable[..., int], make_user: Callable[..., Actor]) -> Actor:
    user = make_user("csrf_page", Role.DEPT_USER, department_id=make_department(), password=PASSWORD)
    r = client.post("/login", data={"username": "csrf_page", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return user


def _refusals(rt: Runtime) -> int:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        found = [json.loads(r.details) if isinstance(r.details, str) else dict(r.details or {}) for r in rows]
        return sum(1 for d in found if d.get("code") == "csrf_failed")


@pytest.mark.parametrize(("token", "lang"), [
    (None, "zh-CN"),  # no token at all
    ("tampered", "zh-CN"),  # a token that is not the session's
    ("tampered", "en"),  # English by the usual switch
])
def test_a_stale_form_from_the_browser_gets_the_error_page_with_a_way_back(
        client: TestClient, rt: Runtime, logged_in: Actor, token: str | None, lang: str) -> None:
    before = _refusals(rt)
    client.cookies.set("lang", lang)
    data = {"name": "stale", **({"csrf_token": token} if token else {})}
    r = client.post("/tokens", data=data, headers=BROWSER)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert not r.text.lstrip().startswith("{")
    assert f'<html lang="{lang}">' in r.text
    if lang == "en":
        assert "The form has expired" in r.text and "CSRF check failed" in r.text
    else:
        assert "表单已过期" in r.text and "请刷新页面后重试" in r.text and "重新打开表单" in r.text
    assert re.search(r'<a href="/tokens" [^>]*id="error-reload"', r.text)  # opens the form afresh
    assert _refusals(rt) == before + 1  # still audited


def test_a_stale_htmx_request_gets_a_fragment_for_its_target(client: TestClient, rt: Runtime,
                                                             logged_in: Actor) -> None:
    before = _refusals(rt)
    r = client.post("/audit/verify", headers={**HTMX, "X-CSRF-Token": "stale"})
    assert r.status_code == 403
    assert r.headers["x-shudata-error-fragment"] == "1"  # app.js swaps it into the target
    assert "<html" not in r.text and 'role="alert"' in r.text
    assert "表单已过期" in r.text and 'href="/audit"' in r.text
    assert _refusals(rt) == before + 1


def test_a_referer_from_another_site_is_not_offered_as_the_way_back(client: TestClient, logged_in: Actor) -> None:
    r = client.post("/tokens", data={"name": "x"}, headers={**BROWSER, "Referer": "https://evil.example/tokens"})
    assert r.status_code == 403
    assert re.search(r'<a href="/" [^>]*id="error-reload"', r.text)
    assert "evil.example" not in r.text


@pytest.mark.parametrize(("path", "headers"), [
    ("/tokens", {"Accept": "application/json"}),  # the UI's own fetch helpers ask for JSON
    ("/tokens", {}),  # a client that says nothing (httpx, curl: */*)
    ("/api/v1/tokens", {"Accept": "text/html"}),  # an API path is answered in JSON whatever is asked
])
def test_api_clients_keep_the_json_refusal(client: TestClient, logged_in: Actor, path: str,
                                           headers: dict[str, Any]) -> None:
    r = client.post(path, data={"name": "x"}, headers=headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf_failed"


def test_the_portal_forms_refusal_also_offers_the_way_back(client: TestClient, rt: Runtime) -> None:
    """The portal's own check (visitors without a staff login) went through the error page already;
    it now also links back to the form."""
    client.get("/portal/developer")
    r = client.post("/portal/developer/login", data={"csrf_token": "stale", "email": "a@example.com",
                                                     "password": "x"},
                    headers={**BROWSER, "Referer": "http://testserver/portal/developer"})
    assert r.status_code == 403, r.text[:300]
    assert "表单已过期" in r.text
    assert re.search(r'<a href="/portal/developer" [^>]*id="error-reload"', r.text)
