"""Issue #14 item 8: login throttling per account and per address, with growing lock-outs, shared
between processes (metadata store or Redis), audited."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.types import Role
from shudata.db.runtime import Runtime
from shudata.security.errors import LoginThrottled
from shudata.security.throttle import DbStore, LoginGuard, RedisStore, ThrottlePolicy

PASSWORD = "Tianfu-Data-7"
POLICY = ThrottlePolicy(max_failures=5, ip_max_failures=12, lockout_s=60, lockout_max_s=600)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guarded(app: Any, rt: Runtime, clock: Clock) -> Any:
    app.state.login_guard = LoginGuard(engine=rt.engine, store=DbStore(rt.engine), policy=POLICY, clock=clock)
    return app


def _login(c: TestClient, username: str, password: str) -> Any:
    return c.post("/login", data={"username": username, "password": password}, follow_redirects=False)


def _events(rt: Runtime, action: str) -> list[dict[str, Any]]:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()
        return [{"actor_kind": r.actor_kind, "resource_id": r.resource_id, "outcome": r.outcome,
                 **json.loads(r.details)} for r in rows]


def test_account_locks_after_five_failures_and_refuses_the_right_password(guarded, rt, make_user, clock):
    make_user("alice", Role.AUDITOR)
    with TestClient(guarded) as c:
        codes = [_login(c, "alice", f"wrong-{i}").status_code for i in range(5)]
        assert codes == [401, 401, 401, 401, 429]  # the fifth failure starts the lock-out
        r = _login(c, "alice", PASSWORD)  # the right password, while locked
        assert r.status_code == 429 and r.headers["retry-after"] == "60"
        assert "登录失败次数过多" in r.text and "60 秒后再试" in r.text
        assert _login(c, " ALICE ", PASSWORD).status_code == 429  # name variants share the account's bucket
        clock.now += 61
        assert _login(c, "alice", PASSWORD).status_code == 303
        assert c.get("/api/v1/me").json()["username"] == "alice"
    failed = _events(rt, "security.login.failed")
    assert [e["reason"] for e in failed] == ["bad_credentials"] * 5 + ["locked", "locked"]
    assert all(e["resource_id"] == "alice" and e["outcome"] == "denied" and e["actor_kind"] == "anonymous"
               for e in failed)
    locked = _events(rt, "security.login.locked")
    assert [(e["scope"], e["lock_s"]) for e in locked] == [("account", 60)]


def test_lockouts_double_and_a_success_clears_the_account(guarded, make_user, clock):
    make_user("bob", Role.AUDITOR)
    waits = []
    for n in range(3):  # from a new address each round, so that only the account's lock-outs add up
        with TestClient(guarded, client=(f"10.0.0.{n}", 1)) as c:
            for i in range(5):
                r = _login(c, "bob", f"wrong-{i}")
            waits.append(int(r.headers["retry-after"]))
            clock.now += waits[-1] + 1
    assert waits == [60, 120, 240]
    with TestClient(guarded) as c:
        assert _login(c, "bob", PASSWORD).status_code == 303
        c.cookies.clear()
        assert [_login(c, "bob", "wrong").status_code for _ in range(4)] == [401] * 4  # counting starts again


def test_address_is_throttled_across_accounts(guarded, make_user, app):
    make_user("carol", Role.AUDITOR)
    with TestClient(guarded, client=("10.9.9.9", 1)) as c:
        codes = [_login(c, f"nobody{i}", "wrong-pass").status_code for i in range(12)]
        assert codes[:11] == [401] * 11 and codes[11] == 429
        r = _login(c, "carol", PASSWORD)
        assert r.status_code == 429 and "IP 地址" in r.text
    with TestClient(guarded, client=("10.9.9.10", 1)) as other:
        assert _login(other, "carol", PASSWORD).status_code == 303


def test_counts_are_shared_between_processes(rt, settings, make_user):
    """Two runtimes (two engines, as two worker processes have) count into the same store."""
    make_user("dave", Role.AUDITOR)
    rt2 = Runtime.build(settings)
    try:
        g1 = LoginGuard(engine=rt.engine, store=DbStore(rt.engine), policy=POLICY)
        g2 = LoginGuard(engine=rt2.engine, store=DbStore(rt2.engine), policy=POLICY)
        for i in range(4):
            (g1 if i % 2 else g2).failed(scope="account", account="dave", ip=None)
        with pytest.raises(LoginThrottled) as err:
            g1.failed(scope="account", account="dave", ip=None)
        assert err.value.retry_after == 60 and err.value.status == 429
        with pytest.raises(LoginThrottled):
            g2.check(scope="account", account="dave", ip=None)
    finally:
        rt2.close()


def test_developer_logins_are_throttled(guarded, rt):
    from shudata.portal.developers import register
    from shudata.portal.schemas import DeveloperCreate

    with rt.transaction() as s:
        register(session=s, data=DeveloperCreate(email="dev@example.cn", phone="13912345678", name="开发者",
                                                 password=PASSWORD))
    with TestClient(guarded) as c:
        page = c.get("/portal/developer").text
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]

        def login(password: str) -> Any:
            return c.post("/portal/developer/login", data={"csrf_token": csrf, "email": "dev@example.cn",
                                                          "password": password}, follow_redirects=False)

        assert [login("wrong-pass").status_code for _ in range(5)] == [401] * 4 + [429]
        r = login(PASSWORD)
        assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert [e["resource_id"] for e in _events(rt, "security.login.locked")] == ["dev@example.cn"]


# -- Redis ------------------------------------------------------------------------------------

REDIS = "redis://127.0.0.1:6379/0"


def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except Exception as exc:
        pytest.skip(f"Redis not reachable at {REDIS}: {exc}")


@pytest.mark.sqlite_only
def test_redis_store_is_shared_and_backs_off(rt):
    _redis_or_skip()
    bucket = f"account:test-{uuid.uuid4().hex}"
    a, b = RedisStore(REDIS, DbStore(rt.engine)), RedisStore(REDIS, DbStore(rt.engine))
    now = 1_800_000_000.0
    locks = [(a if i % 2 else b).fail(bucket, now, 5, POLICY)[1] for i in range(5)]
    assert locks == [0, 0, 0, 0, 60]
    state = b.get(bucket)
    assert state is not None and state.locked_until == now + 60
    assert [a.fail(bucket, now + 70, 5, POLICY)[1] for _ in range(5)][-1] == 120
    a.clear(bucket)
    assert b.get(bucket) is None


@pytest.mark.sqlite_only
def test_unreachable_redis_falls_back_to_the_store(rt):
    store = RedisStore("redis://127.0.0.1:1/0", DbStore(rt.engine))
    fails: list[Callable[[], Any]] = [lambda: store.fail("account:x", 1000.0, 2, POLICY) for _ in range(2)]
    assert [f()[1] for f in fails] == [0, 60]
    state = DbStore(rt.engine).get("account:x")
    assert state is not None and state.locked_until == 1060.0
