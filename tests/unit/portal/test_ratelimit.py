"""Rate limits of the public surfaces: per IP, per key, in-process and through Redis."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.db.runtime import Runtime
from shudata.portal.ratelimit import MemoryLimiter, RedisLimiter
from shudata.web.app import create_app

REDIS = "redis://127.0.0.1:6379/0"


class _MinuteStartClock:
    """The limiters' ``time``: the wall clock moved back to one second into the minute in which the
    test began, so a test's burst stays inside one fixed window (a burst across the boundary is two
    windows' worth) without waiting for the next minute; it still advances as the wall clock does."""

    def __init__(self) -> None:
        now = time.time()
        self._shift = now % 60 - 1.0

    def time(self) -> float:
        return time.time() - self._shift

    def __getattr__(self, name: str):  # monotonic, sleep …: the real ones
        return getattr(time, name)


@pytest.fixture(autouse=True)
def _window_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from shudata.portal import ratelimit

    monkeypatch.setattr(ratelimit, "time", _MinuteStartClock())


def _client(settings, ip: str = "testclient", **limits):
    """A client of a fresh app with these limits (the limiters' clock at the start of a window)."""
    rt = Runtime.build(settings.model_copy(update=limits))
    return rt, TestClient(create_app(runtime=rt, migrate=False), client=(ip, 50000))


def test_ip_limit_gives_429_with_retry_after_and_is_audited_once(settings, rt):
    rt2, c = _client(settings, portal_rate_ip_per_min=3)
    with c:
        codes = [c.get("/sitemap.xml").status_code for _ in range(5)]
        assert 429 not in codes[:3] and codes[3:] == [429, 429]
        r = c.get("/api/3/action/package_list")
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 61
        body = r.json()
        assert body["success"] is False and body["error"]["__type"] == "Rate Limit Error"
        assert "每分钟最多 3 次" in body["error"]["message"]
        en = c.get("/sitemap.xml?lang=en").json()
        assert "3 requests per minute" in en["error"]["message"]
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "rejected")).all()
        limited = [json.loads(r.details) for r in rows if json.loads(r.details).get("code") == "rate_limited"]
        assert len(limited) == 1 and limited[0]["status"] == 429
    rt2.close()


def test_staff_api_is_not_limited(settings):
    rt2, c = _client(settings, portal_rate_ip_per_min=1)
    with c:
        assert all(c.get("/api/v1/health").status_code != 429 for _ in range(4))
    rt2.close()


def _live_key(rt, email: str = "rl@example.com") -> str:
    from shudata.portal import developers as D
    from shudata.portal.schemas import DeveloperCreate

    with rt.transaction() as s:
        dev = D.register(session=s, data=DeveloperCreate(email=email, phone="13812345678", name="开发者",
                                                         password="Dev-Passw0rd!2024"))
        return D.create_key(session=s, dev=dev, name="k").key


def test_key_bucket_is_separate_from_anonymous_ip(settings, rt):
    key_value = _live_key(rt)
    rt2, c = _client(settings, portal_rate_ip_per_min=2, portal_rate_key_per_min=4)
    app = c.app
    with c:
        anon = [c.get("/sitemap.xml").status_code for _ in range(3)]
        assert anon[-1] == 429
    key = {"X-CKAN-API-Key": key_value}
    with TestClient(app, client=("10.0.0.2", 1)) as c2:  # a key holder gets the key's larger allowance
        keyed = [c2.get("/sitemap.xml", headers=key).status_code for _ in range(5)]
        assert 429 not in keyed[:4] and keyed[4] == 429
    with TestClient(app, client=("10.0.0.3", 1)) as c3:  # the same key from elsewhere: the key is used up
        r = c3.get("/sitemap.xml", headers={"Authorization": key_value})
        assert r.status_code == 429 and "API 密钥" in r.json()["error"]["message"]
        ok = c3.get("/sitemap.xml")  # while that IP's anonymous allowance is untouched
        assert ok.status_code != 429 and ok.headers["x-ratelimit-limit"] == "2"
    rt2.close()


@pytest.mark.parametrize("headers", [
    {"X-CKAN-API-Key": "sdk_abcd_made-up"},  # an invented portal key
    {"X-CKAN-API-Key": "anything at all"},  # not even key-shaped
    {"Authorization": "Bearer sd_0000_not-a-token"},  # an invented platform token on the portal
    {"Authorization": "Bearer sdk_ffff_invented"},
])
def test_invented_key_counts_against_the_anonymous_ip_limit(settings, headers):
    """Issue #14 item 12: a made-up key used to lift the per-IP limit to the key limit."""
    rt2, c = _client(settings, "10.9.9.9", portal_rate_ip_per_min=3, portal_rate_key_per_min=50)
    with c:
        codes = [c.get("/api/3/action/status_show", headers=headers).status_code for _ in range(7)]
        # over 3 a minute (7 requests are refused even if a minute boundary falls among them);
        # a key's 50 would have let all 7 through
        assert codes[0] != 429 and 429 in codes, codes
        assert c.get("/sitemap.xml").status_code == 429  # the same anonymous bucket
    rt2.close()


def test_revoked_key_is_anonymous_again(settings, rt):
    from shudata.portal import developers as D
    from shudata.portal.models import PortalApiKey, PortalDeveloper

    key_value = _live_key(rt, "revoked@example.com")
    with rt.transaction() as s:
        dev = s.scalar(select(PortalDeveloper).where(PortalDeveloper.email == "revoked@example.com"))
        D.revoke_key(session=s, dev=dev, key_id=s.scalar(select(PortalApiKey.id)))
    rt2, c = _client(settings, "10.9.9.8", portal_rate_ip_per_min=2, portal_rate_key_per_min=50)
    with c:
        codes = [c.get("/sitemap.xml", headers={"X-CKAN-API-Key": key_value}).status_code for _ in range(3)]
        assert codes[2] == 429
    rt2.close()


def test_key_check_remembers_answers_briefly(rt):
    from shudata.portal.ratelimit import KeyCheck

    calls = []

    def sessions():
        calls.append(1)
        return rt.sessions()

    check = KeyCheck(sessions, ttl_s=60, max_entries=2)
    assert [check("sdk_x_y"), check("sdk_x_y")] == [False, False] and len(calls) == 1
    check("sdk_a_b"), check("sdk_c_d")
    assert check("sdk_x_y") is False and len(calls) == 4  # pushed out by the size bound, looked up again
    assert check("x" * 500) is False


def test_memory_limiter_windows():
    lim = MemoryLimiter()
    assert [lim.hit("b", 2, 60, now=0.0).allowed for _ in range(3)] == [True, True, False]
    assert lim.hit("b", 2, 60, now=60.5).allowed
    assert lim.hit("other", 2, 60, now=0.0).allowed


@pytest.mark.sqlite_only
def test_redis_limiter_is_shared_between_workers():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except Exception as exc:  # pragma: no cover - the CI machine runs Redis
        pytest.skip(f"Redis not reachable: {exc}")
    a, b = RedisLimiter(REDIS), RedisLimiter(REDIS)  # two workers
    bucket = f"test:{uuid.uuid4().hex}"
    got = [lim.hit(bucket, 3, 60, now=1000.0) for lim in (a, b, a, b)]
    assert [d.allowed for d in got] == [True, True, True, False]
    assert {d.backend for d in got} == {"redis"}


@pytest.mark.sqlite_only
def test_redis_outage_falls_back_to_memory():
    lim = RedisLimiter("redis://127.0.0.1:1/0")
    d = lim.hit("x", 1, 60)
    assert d.allowed and d.backend == "memory-fallback"
    assert not lim.hit("x", 1, 60).allowed


@pytest.mark.sqlite_only
def test_app_uses_redis_when_configured(settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except Exception as exc:  # pragma: no cover
        pytest.skip(f"Redis not reachable: {exc}")
    # two app instances (two workers) sharing one Redis count together
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"  # a fresh bucket
    rt1, c1 = _client(settings, ip, portal_rate_ip_per_min=3, redis_url=REDIS)
    rt2, c2 = _client(settings, ip, portal_rate_ip_per_min=3, redis_url=REDIS)
    with c1, c2:
        codes = [c.get("/sitemap.xml").status_code for c in (c1, c2, c1, c2)]
    rt1.close()
    rt2.close()
    assert 429 not in codes[:3] and codes[3] == 429


def test_an_exempted_harvester_key_is_not_limited_and_a_forged_one_is(settings, rt):
    """The operator lists a harvester key's public label (never its secret) in
    SHUDATA_PORTAL_RATE_EXEMPT_KEYS: that live key is served without limit; a key made up
    with the same label, and the other keys, still are limited (every 429 with Retry-After)."""
    harvester, other = _live_key(rt, "harvester@example.com"), _live_key(rt, "other@example.com")
    label = "_".join(harvester.split("_")[:2])  # sdk_<prefix>, as the developer page shows it
    assert label.startswith("sdk_") and harvester != label
    rt2, c = _client(settings, "10.7.7.7", portal_rate_ip_per_min=2, portal_rate_key_per_min=3,
                     portal_rate_exempt_keys=f"sdk_unrelated, {label.upper()}")
    with c:
        codes = [c.get("/api/3/action/status_show", headers={"X-CKAN-API-Key": harvester}).status_code
                 for _ in range(8)]
        assert codes == [200] * 8
        forged = [c.get("/api/3/action/status_show", headers={"X-CKAN-API-Key": f"{label}_forged"})
                  for _ in range(4)]
        assert forged[-1].status_code == 429 and int(forged[-1].headers["retry-after"]) >= 1
    with TestClient(c.app, client=("10.7.7.8", 1)) as c2:
        limited = [c2.get("/api/3/action/status_show", headers={"X-CKAN-API-Key": other}) for _ in range(4)]
        assert limited[-1].status_code == 429 and int(limited[-1].headers["retry-after"]) >= 1
        assert limited[-1].json()["error"]["__type"] == "Rate Limit Error"
    rt2.close()
