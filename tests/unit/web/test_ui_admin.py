"""Pages: login, language switch, departments, users, own API tokens, audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.types import Role
from shudata.security.models import ApiToken, Department, User

pytestmark = pytest.mark.sqlite_only

GOOD_USCC = "91510100MA6CB8AG5D"


def test_pages_need_login_and_redirect_back(client):
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/users"


def test_login_page_is_chinese_first_and_english_on_switch(client):
    page = client.get("/login")
    assert page.status_code == 200 and "登录蜀数平台" in page.text and 'lang="zh-CN"' in page.text
    r = client.get("/lang/en", headers={"referer": "http://testserver/login"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "Log in to shudata" in client.get("/login").text


def test_language_switch_never_redirects_off_site(client):
    r = client.get("/lang/en", headers={"referer": "http://evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_wrong_password_keeps_username_and_says_why(client, make_user):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    r = client.post("/login", data={"username": "opsadmin", "password": "nope-nope"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text and 'value="opsadmin"' in r.text


def test_admin_creates_department_and_bad_credit_code_is_explained(client, make_user, login, rt):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    csrf = login("opsadmin")
    bad = client.post("/admin/departments", data={"csrf_token": csrf, "name": "省测试厅",
                                                  "uscc": GOOD_USCC[:-1] + "X", "region_code": "510000"})
    assert bad.status_code == 422 and "统一社会信用代码无效" in bad.text and 'value="省测试厅"' in bad.text
    ok = client.post("/admin/departments", data={"csrf_token": csrf, "name": "省测试厅", "uscc": GOOD_USCC,
                                                 "region_code": "510000"})
    assert ok.status_code == 200 and "已新增部门“省测试厅”" in ok.text
    with rt.transaction() as s:
        assert s.scalar(select(Department.name).where(Department.uscc == GOOD_USCC)) == "省测试厅"
    dup = client.post("/admin/departments", data={"csrf_token": csrf, "name": "省测试厅", "uscc": GOOD_USCC,
                                                  "region_code": "510000"})
    assert dup.status_code == 409 and "已存在" in dup.text


def test_form_without_csrf_token_is_refused(client, make_user, login):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    login("opsadmin")
    r = client.post("/admin/departments", data={"name": "省测试厅", "uscc": GOOD_USCC, "region_code": "510000"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


def test_admin_creates_user_with_roles_and_can_disable_them(client, make_user, make_department, login, rt):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    dept = make_department("省统计局")
    csrf = login("opsadmin")
    weak = client.post("/admin/users", data={"csrf_token": csrf, "username": "li", "password": "short",
                                             "department_id": str(dept), "roles": ["data_steward"]})
    assert weak.status_code == 422
    r = client.post("/admin/users", data={"csrf_token": csrf, "username": "lisi", "display_name": "李四",
                                          "password": "Str0ng-pass!", "department_id": str(dept),
                                          "roles": ["data_steward", "dept_user"]})
    assert r.status_code == 200 and "李四" in r.text and "部门数据管理员" in r.text
    with rt.transaction() as s:
        user = s.scalars(select(User).where(User.username == "lisi")).one()
        assert sorted(user.roles) == ["data_steward", "dept_user"] and user.department_id == dept
        uid = user.id
    client.post(f"/admin/users/{uid}/active", data={"csrf_token": csrf, "active": "0"})
    with rt.transaction() as s:
        assert s.get(User, uid).is_active is False  # type: ignore[union-attr]


def test_department_user_cannot_create_departments(client, make_user, make_department, login):
    dept = make_department()
    make_user("plain", Role.DEPT_USER, department_id=dept)
    csrf = login("plain")
    page = client.get("/admin/departments")
    assert page.status_code == 200 and "department-form" not in page.text
    r = client.post("/admin/departments", data={"csrf_token": csrf, "name": "省测试厅", "uscc": GOOD_USCC,
                                                "region_code": "510000"})
    assert r.status_code == 403 and "无权" in r.text


def test_token_is_shown_once_then_revoked(client, make_user, make_department, login, rt):
    dept = make_department()
    make_user("u1", Role.DEPT_USER, department_id=dept)
    csrf = login("u1")
    r = client.post("/tokens", data={"csrf_token": csrf, "name": "报表脚本", "expires_in_days": "30"})
    assert r.status_code == 201 and "只显示这一次" in r.text
    token = r.text.split('id="token-value" value="')[1].split('"')[0]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["username"] == "u1"
    listing = client.get("/tokens").text
    assert token not in listing and "报表脚本" in listing
    with rt.transaction() as s:
        tid = s.scalars(select(ApiToken.id)).one()
    client.post(f"/tokens/{tid}/revoke", data={"csrf_token": csrf})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_auditor_filters_trail_and_verifies_chain(client, make_user, login, rt):
    make_user("aud", Role.AUDITOR)
    client.post("/login", data={"username": "nobody", "password": "x-x-x-x-x"})
    csrf = login("aud")
    page = client.get("/audit?outcome=denied")
    assert page.status_code == 200 and "nobody" in page.text and "security.login.failed" in page.text
    part = client.get("/audit?action=auth.login&outcome=success", headers={"HX-Request": "true"})
    assert "<html" not in part.text and "aud" in part.text and "nobody" not in part.text
    ok = client.post("/audit/verify", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and "审计链完整" in ok.text
    with rt.transaction() as s:
        first = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).first()
        assert first is not None
        first.actor = "someone-else"
    bad = client.post("/audit/verify", headers={"X-CSRF-Token": csrf})
    assert "modified" in bad.text


def test_department_user_cannot_read_audit_trail(client, make_user, make_department, login):
    dept = make_department()
    make_user("plain", Role.DEPT_USER, department_id=dept)
    login("plain")
    r = client.get("/audit")
    assert r.status_code == 403 and "审计" in r.text
