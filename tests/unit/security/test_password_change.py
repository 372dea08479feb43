"""Changing one's own password (web form and ``POST /api/v1/me/password``), and what a password
change or an administrator's reset does to the account's other ways in: browser sessions and
API tokens. Every refusal leaves the old password working and is audited or counted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.types import Role
from shudata.security.models import ApiToken, User, WebSession
from shudata.security.passwords import verify_password

PASSWORD = "Tianfu-Data-7"
NEW = "Jinjiang-River-42"


def _logged_in(app: Any, username: str, password: str = PASSWORD) -> TestClient:
    c = TestClient(app)
    r = c.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert c.get("/api/v1/me").status_code == 200
    return c


def _csrf(c: TestClient) -> str:
    return c.get("/account/password").text.split('name="csrf-token" content="')[1].split('"')[0]


def _password_of(rt: Any, username: str) -> str:
    with rt.transaction() as s:
        return s.scalars(select(User.password_hash).where(User.username == username)).one()


def _events(rt: Any, action: str) -> list[AuditEntry]:
    with rt.transaction() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        s.expunge_all()
        return rows


def test_the_form_changes_the_password_ends_other_sessions_and_revokes_tokens(app, rt, make_user, token_for):
    make_user("hua", Role.AUDITOR)
    laptop, phone = _logged_in(app, "hua"), _logged_in(app, "hua")
    headers = token_for("hua")
    page = laptop.get("/account/password")
    assert page.status_code == 200 and "当前密码" in page.text and "再次输入新密码" in page.text
    r = laptop.post("/account/password", data={"csrf_token": _csrf(laptop), "current_password": PASSWORD,
                                               "new_password": NEW, "new_password_again": NEW,
                                               "revoke_tokens": "1"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert laptop.get("/api/v1/me").status_code == 200  # this session stays
    assert phone.get("/api/v1/me").status_code == 401  # the other one ends
    assert TestClient(app).get("/api/v1/me", headers=headers).status_code == 401  # tokens revoked
    assert verify_password(_password_of(rt, "hua"), NEW)
    _logged_in(app, "hua", NEW)
    assert TestClient(app).post("/login", data={"username": "hua", "password": PASSWORD},
                                follow_redirects=False).status_code == 401
    (event,) = _events(rt, "security.password.change")
    assert event.actor == "hua" and json.loads(event.details) == {"sessions_ended": 1, "tokens_revoked": 1}
    with rt.transaction() as s:
        assert {r.revoke_reason for r in s.scalars(select(WebSession)) if r.revoked_at} == {"password_change"}


def test_tokens_can_be_kept(app, rt, make_user, token_for):
    make_user("jun", Role.AUDITOR)
    headers = token_for("jun")
    with TestClient(app) as c:
        r = c.post("/api/v1/me/password", headers=headers,
                   json={"current_password": PASSWORD, "new_password": NEW, "revoke_tokens": False})
        assert r.status_code == 200, r.text
        assert r.json() == {"sessions_ended": 0, "tokens_revoked": 0}
        assert c.get("/api/v1/me", headers=headers).status_code == 200


def test_the_api_revokes_by_default_the_calling_token_too(app, rt, make_user, token_for):
    make_user("kai", Role.AUDITOR)
    headers = token_for("kai")
    with TestClient(app) as c:
        r = c.post("/api/v1/me/password", headers=headers, json={"current_password": PASSWORD, "new_password": NEW})
        assert r.status_code == 200 and r.json()["tokens_revoked"] == 1
        assert c.get("/api/v1/me", headers=headers).json()["error"]["code"] == "token_revoked"


@pytest.mark.parametrize("body, code, field", [
    ({"current_password": "Wrong-Guess-11", "new_password": NEW}, "password_wrong", "current_password"),
    ({"current_password": PASSWORD, "new_password": PASSWORD}, "password_unchanged", "new_password"),
    ({"current_password": PASSWORD, "new_password": "abcdefgh"}, "weak_password", "password"),
    ({"current_password": PASSWORD, "new_password": "Lanfang-Tianfu-99"}, "weak_password", "password"),  # has the name
])
def test_refusals_keep_the_old_password(app, rt, make_user, token_for, body, code, field):
    make_user("lanfang", Role.AUDITOR)
    headers = token_for("lanfang")
    before = _password_of(rt, "lanfang")
    with TestClient(app) as c:
        r = c.post("/api/v1/me/password", headers=headers, json=body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == code and error["details"]["field"] == field
        assert "密码" in error["message"]
        assert c.get("/api/v1/me", headers=headers).status_code == 200  # nothing revoked
    assert _password_of(rt, "lanfang") == before


def test_wrong_current_passwords_count_as_failed_logins_and_lock(app, rt, make_user, token_for):
    """Guessing the current password through this form is no way round the login lock-out."""
    make_user("mei", Role.AUDITOR)
    headers = token_for("mei")
    limit = rt.settings.login_max_failures
    with TestClient(app) as c:
        codes = [c.post("/api/v1/me/password", headers=headers,
                        json={"current_password": f"Wrong-Guess-{i}", "new_password": NEW}).status_code
                 for i in range(limit + 1)]
        assert codes[: limit - 1] == [422] * (limit - 1) and codes[-1] == 429
        r = c.post("/api/v1/me/password", headers=headers, json={"current_password": PASSWORD, "new_password": NEW})
        assert r.status_code == 429 and r.headers["Retry-After"]  # even the right one, while it lasts
    assert verify_password(_password_of(rt, "mei"), PASSWORD)
    assert len(_events(rt, "security.login.failed")) >= limit


def test_the_form_explains_refusals_in_chinese(app, make_user):
    make_user("ning", Role.AUDITOR)
    c = _logged_in(app, "ning")
    r = c.post("/account/password", data={"csrf_token": _csrf(c), "current_password": PASSWORD,
                                          "new_password": NEW, "new_password_again": NEW + "x"})
    assert r.status_code == 422 and "两次输入的新密码不一致" in r.text
    r = c.post("/account/password", data={"csrf_token": _csrf(c), "current_password": "Wrong-Guess-11",
                                          "new_password": NEW, "new_password_again": NEW})
    assert r.status_code == 422 and "当前密码不正确" in r.text
    assert c.get("/api/v1/me").status_code == 200  # still logged in after refusals


def test_the_form_needs_a_login_and_csrf(app, make_user):
    make_user("ou", Role.AUDITOR)
    anonymous = TestClient(app)
    r = anonymous.get("/account/password", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]
    c = _logged_in(app, "ou")
    r = c.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW,
                                          "new_password_again": NEW})
    assert r.status_code == 403


def test_an_admin_reset_revokes_the_accounts_tokens(app, rt, make_user, token_for):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    victim = make_user("pei", Role.AUDITOR)
    headers = token_for("pei")
    with TestClient(app) as c:
        r = c.patch(f"/api/v1/users/{victim.user_id}", headers=token_for("opsadmin"), json={"password": NEW})
        assert r.status_code == 200, r.text
        assert c.get("/api/v1/me", headers=headers).status_code == 401
    with rt.transaction() as s:
        assert all(t.revoked_at is not None for t in s.scalars(select(ApiToken).join(User).where(
            User.username == "pei")))
    (event,) = [e for e in _events(rt, "security.user.update") if e.resource_id == "pei"]
    assert json.loads(event.details)["tokens_revoked"] == 1
