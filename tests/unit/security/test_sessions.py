"""Issue #14 item 9: logging out, a password reset and disabling the account end browser sessions
server-side, so a copied cookie stops working at once (not 8 hours later)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.core.types import Role
from shudata.security.models import WebSession

PASSWORD = "Tianfu-Data-7"


def _csrf(c: TestClient) -> str:
    return c.get("/tokens").text.split('name="csrf-token" content="')[1].split('"')[0]


def _logged_in(app: Any, username: str) -> TestClient:
    c = TestClient(app)
    assert c.post("/login", data={"username": username, "password": PASSWORD},
                  follow_redirects=False).status_code == 303
    assert c.get("/api/v1/me").status_code == 200
    return c


def _copy(app: Any, c: TestClient) -> TestClient:
    """Another client holding the same cookie (a stolen or copied session)."""
    thief = TestClient(app)
    thief.cookies.set("shudata_session", c.cookies["shudata_session"])
    return thief


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, rt, make_user):
    make_user("erin", Role.AUDITOR)
    c = _logged_in(app, "erin")
    thief = _copy(app, c)
    assert thief.get("/api/v1/me").json()["username"] == "erin"
    assert c.post("/logout", data={"csrf_token": _csrf(c)}, follow_redirects=False).status_code == 303
    assert thief.get("/api/v1/me").status_code == 401
    with rt.transaction() as s:
        row = s.scalars(select(WebSession)).one()
        assert row.revoked_at is not None and row.revoke_reason == "logout"


def test_logout_ends_only_that_session(app, make_user):
    make_user("fay", Role.AUDITOR)
    laptop, phone = _logged_in(app, "fay"), _logged_in(app, "fay")
    laptop.post("/logout", data={"csrf_token": _csrf(laptop)})
    assert laptop.get("/api/v1/me").status_code == 401 and phone.get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("change, reason", [
    ({"password": "Jinjiang-River-42"}, "password_reset"),  # a password reset by the admin
    ({"is_active": False}, "disabled"),  # disabling the account
])
def test_password_reset_and_disable_end_all_sessions(app, rt, make_user, token_for, change, reason):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    victim = make_user("gus", Role.AUDITOR)
    c1, c2 = _logged_in(app, "gus"), _logged_in(app, "gus")
    with TestClient(app) as admin:
        r = admin.patch(f"/api/v1/users/{victim.user_id}", headers=token_for("opsadmin"), json=change)
        assert r.status_code == 200, r.text
        if change.get("is_active") is False:  # enabling again does not bring old sessions back
            assert admin.patch(f"/api/v1/users/{victim.user_id}", headers=token_for("opsadmin"),
                               json={"is_active": True}).status_code == 200
    assert c1.get("/api/v1/me").status_code == 401 and c2.get("/api/v1/me").status_code == 401
    with rt.transaction() as s:
        assert {r.revoke_reason for r in s.scalars(select(WebSession))} == {reason}


def test_a_cookie_without_a_server_side_session_is_not_a_login(app, make_user):
    """A cookie signed with the key but naming no live session (as old cookies did) is ignored."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    who = make_user("hal", Role.AUDITOR)
    payload = base64.b64encode(json.dumps({"uid": who.user_id, "username": "hal", "csrf": "x"}).encode())
    cookie = TimestampSigner(app.state.runtime.settings.secret_key).sign(payload).decode()
    c = TestClient(app)
    c.cookies.set("shudata_session", cookie)
    assert c.get("/api/v1/me").status_code == 401


def test_developer_logout_ends_the_session_for_copies(app, rt):
    from shudata.portal.developers import register
    from shudata.portal.schemas import DeveloperCreate

    with rt.transaction() as s:
        register(session=s, data=DeveloperCreate(email="dev@example.cn", phone="13912345678", name="开发者",
                                                 password=PASSWORD))
    c = TestClient(app)
    csrf = c.get("/portal/developer").text.split('name="csrf-token" content="')[1].split('"')[0]
    r = c.post("/portal/developer/login", data={"csrf_token": csrf, "email": "dev@example.cn", "password": PASSWORD},
               follow_redirects=False)
    assert r.status_code == 303
    thief = _copy(app, c)
    assert "dev@example.cn" in thief.get("/portal/developer").text
    csrf = c.get("/portal/developer").text.split('name="csrf-token" content="')[1].split('"')[0]  # new at login
    assert c.post("/portal/developer/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    page = thief.get("/portal/developer").text
    assert "dev@example.cn" not in page and 'id="login-password"' in page


def test_sessions_expire_and_old_ones_are_pruned(rt, make_user):
    import datetime as dt

    from shudata.core.clock import utcnow
    from shudata.security import sessions

    who = make_user("ida", Role.AUDITOR)
    assert who.user_id is not None
    with rt.transaction() as s:
        sid = sessions.start(s, principal="user", principal_id=who.user_id, max_age_s=60)
        assert sessions.live(s, sid=sid, principal="user", principal_id=who.user_id)
        assert not sessions.live(s, sid=sid, principal="developer", principal_id=who.user_id)  # another kind
        s.scalars(select(WebSession)).one().expires_at = utcnow() - dt.timedelta(seconds=1)
        s.flush()
        assert not sessions.live(s, sid=sid, principal="user", principal_id=who.user_id)
        s.scalars(select(WebSession)).one().expires_at = utcnow() - dt.timedelta(days=8)
        s.flush()
        sessions.start(s, principal="user", principal_id=who.user_id, max_age_s=60)
        assert s.scalars(select(WebSession)).one().revoked_at is None  # only the new one is left
