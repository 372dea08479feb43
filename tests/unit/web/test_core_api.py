"""Health, login, tokens, errors and the audit of refusals, on both metadata backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from shudata.audit.models import AuditEntry
from shudata.core.types import Role
from shudata.security.models import ApiToken


def test_health_answers_with_backend_name(client, backend):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["database"] == backend


def test_docs_page_served(client):
    assert client.get("/docs").status_code == 200
    assert "/api/v1/health" in client.get("/openapi.json").json()["paths"]


def test_token_identifies_user_and_wrong_token_is_401_with_chinese_message(client, make_department, make_user,
                                                                            token_for, rt):
    dept = make_department("省统计局")
    make_user("steward1", Role.DATA_STEWARD, department_id=dept)
    r = client.get("/api/v1/me", headers=token_for("steward1"))
    assert r.status_code == 200 and r.json()["department_id"] == dept
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer sd_x_nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "token_invalid"
    assert "令牌" in bad.json()["error"]["message"]
    en = client.get("/api/v1/me?lang=en", headers={"Authorization": "Bearer sd_x_nope"})
    assert en.json()["error"]["message"] == "Invalid API token"
    with rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert denied, "a refused token must leave an audit record"


def test_expired_and_revoked_tokens_are_refused(client, make_department, make_user, token_for, rt):
    dept = make_department()
    make_user("u1", Role.DEPT_USER, department_id=dept)
    headers = token_for("u1")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with rt.transaction() as s:
        s.execute(update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    headers2 = token_for("u1")
    tid = client.get("/api/v1/tokens", headers=headers2).json()[-1]["id"]
    assert client.delete(f"/api/v1/tokens/{tid}", headers=headers2).status_code == 200
    r = client.get("/api/v1/me", headers=headers2)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


def test_department_user_cannot_create_departments_and_denial_is_audited(client, make_department, make_user,
                                                                          token_for, rt):
    dept = make_department()
    make_user("plain", Role.DEPT_USER, department_id=dept)
    r = client.post("/api/v1/departments", headers=token_for("plain"),
                    json={"name": "非法部门", "uscc": "91510100MA6CB8AG5D", "region_code": "510100"})
    assert r.status_code == 403
    with rt.transaction() as s:
        e = s.scalars(select(AuditEntry).where(AuditEntry.action == "security.department.manage")).one()
    assert e.outcome == "denied" and e.actor == "plain"


def test_invalid_credit_code_is_422_with_reason(client, make_user, token_for):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    r = client.post("/api/v1/departments", headers=token_for("opsadmin"),
                    json={"name": "省测试厅", "uscc": "91510100MA6CB8AG5X", "region_code": "510100"})
    assert r.status_code == 422
    assert "统一社会信用代码" in r.json()["error"]["message"]


def test_web_login_sets_session_and_wrong_password_is_refused(client, make_department, make_user):
    dept = make_department()
    make_user("alice", Role.DATA_STEWARD, department_id=dept, password="Corr3ct-horse")
    r = client.post("/login", data={"username": "alice", "password": "wrong-pass1"}, follow_redirects=False)
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = client.post("/login", data={"username": "alice", "password": "Corr3ct-horse"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").json()["username"] == "alice"


def test_form_post_without_csrf_token_is_refused(client, make_department, make_user):
    dept = make_department()
    make_user("bob", Role.DATA_STEWARD, department_id=dept, password="Corr3ct-horse")
    client.post("/login", data={"username": "bob", "password": "Corr3ct-horse"})
    r = client.post("/logout", data={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


def test_oversized_body_is_413(rt, settings):
    from fastapi.testclient import TestClient

    from shudata.web.app import create_app

    small = settings.model_copy(update={"max_upload_mb": 1})
    rt.settings = small
    with TestClient(create_app(runtime=rt, migrate=False)) as c:
        r = c.post("/api/v1/departments", content=b"x" * (2 * 1024 * 1024),
                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "大小上限" in r.json()["error"]["message"]
    with rt.transaction() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "rejected")).all()
    assert any('"status": 413' in e.details for e in refused), "the refusal must be audited"
