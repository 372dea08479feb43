"""Login throttling: failures counted per account and per client address, with lock-outs that
double each time (exponential backoff), shared by every process.

Counters live in the metadata store (table ``security_login_throttle``, one row per bucket,
updated under a row lock) or, when ``SHUDATA_REDIS_URL`` is set, in Redis (one hash per
bucket, updated by one Lua script); if Redis cannot be reached the store is used instead.
While a bucket is locked every attempt is refused before the password is looked at, so the
right password does not get through either. Failures and lock-outs are audited
(``security.login.failed``, ``security.login.locked``).

The arithmetic is one pure function:

>>> p = ThrottlePolicy(max_failures=3, ip_max_failures=10, lockout_s=60, lockout_max_s=300)
>>> s = State()
>>> for t in (0, 1, 2):
...     s, lock = on_failure(s, float(t), 3, p)
>>> lock, s.locked_until          # the third failure locks for 60 s
(60, 62.0)
>>> for t in (70, 71, 72):
...     s, lock = on_failure(s, float(t), 3, p)
>>> lock                          # the next lock-out lasts twice as long
120
>>> on_failure(s, 72.0 + 86401, 3, p)[0].lockouts   # a quiet day forgets the history
0
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record_separately
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.security.errors import LoginThrottled
from shudata.security.models import LoginThrottle

log = logging.getLogger(__name__)
FAILURE_WINDOW_S = 900  # failures more than 15 minutes apart do not add up
FORGET_S = 86_400  # a day without failures forgets earlier lock-outs


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5  # per account
    ip_max_failures: int = 20  # per client address (offices share one behind NAT)
    lockout_s: int = 60  # the first lock-out; each further one doubles
    lockout_max_s: int = 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(max_failures=settings.login_max_failures, ip_max_failures=settings.login_ip_max_failures,
                   lockout_s=settings.login_lockout_s, lockout_max_s=settings.login_lockout_max_s)


@dataclass(frozen=True)
class State:
    failures: int = 0
    lockouts: int = 0
    locked_until: float | None = None
    updated: float = 0.0


def on_failure(s: State, now: float, threshold: int, p: ThrottlePolicy) -> tuple[State, int]:
    """The state after one more failure, and the lock-out it starts (seconds; 0 for none)."""
    quiet = now - s.updated
    failures = (0 if quiet > FAILURE_WINDOW_S else s.failures) + 1
    lockouts = 0 if quiet > FORGET_S else s.lockouts
    if failures < threshold:
        return State(failures, lockouts, s.locked_until, now), 0
    lock = min(p.lockout_s * 2 ** lockouts, p.lockout_max_s)
    return State(0, lockouts + 1, now + lock, now), lock


def remaining(s: State | None, now: float) -> int:
    """Seconds the bucket stays locked (0 when it is not)."""
    if s is None or s.locked_until is None or s.locked_until <= now:
        return 0
    return max(1, math.ceil(s.locked_until - now))


class ThrottleStore(Protocol):
    def get(self, bucket: str) -> State | None: ...
    def fail(self, bucket: str, now: float, threshold: int, policy: ThrottlePolicy) -> tuple[State, int]: ...
    def clear(self, bucket: str) -> None: ...


def _epoch(value: dt.datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def _when(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


class DbStore:
    """Counters in the metadata store; each failure is one short transaction holding the row."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, bucket: str) -> State | None:
        with Session(self.engine) as s:
            row = s.get(LoginThrottle, bucket)
            if row is None:
                return None
            return State(row.failures, row.lockouts, _epoch(row.locked_until), _epoch(row.updated_at) or 0.0)

    def fail(self, bucket: str, now: float, threshold: int, policy: ThrottlePolicy) -> tuple[State, int]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
            s.execute(insert(LoginThrottle).values(bucket=bucket, failures=0, lockouts=0, locked_until=None,
                                                   updated_at=_when(now)).on_conflict_do_nothing())
            row = s.execute(select(LoginThrottle).where(LoginThrottle.bucket == bucket).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one()
            before = State(row.failures, row.lockouts, _epoch(row.locked_until), _epoch(row.updated_at) or now)
            after, lock = on_failure(before, now, threshold, policy)
            row.failures, row.lockouts = after.failures, after.lockouts
            row.locked_until = _when(after.locked_until)
            row.updated_at = dt.datetime.fromtimestamp(after.updated, dt.UTC)
        return after, lock

    def clear(self, bucket: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(delete(LoginThrottle).where(LoginThrottle.bucket == bucket))


_FAIL_LUA = """
local v = redis.call('HMGET', KEYS[1], 'f', 'l', 'u', 't')
local now = tonumber(ARGV[1]); local threshold = tonumber(ARGV[2])
local base = tonumber(ARGV[3]); local maxs = tonumber(ARGV[4])
local f = tonumber(v[1]) or 0; local l = tonumber(v[2]) or 0; local u = tonumber(v[3]) or 0
local t = tonumber(v[4]) or now
if now - t > tonumber(ARGV[5]) then f = 0 end
if now - t > tonumber(ARGV[6]) then l = 0 end
f = f + 1
local lock = 0
if f >= threshold then
  lock = math.min(base * math.pow(2, l), maxs); l = l + 1; f = 0; u = now + lock
end
redis.call('HSET', KEYS[1], 'f', f, 'l', l, 'u', u, 't', now)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]) + maxs)
return {f, l, u, lock}
"""


class RedisStore:
    """Counters in Redis (``shudata:login:<bucket>``), updated atomically by a Lua script;
    the metadata store takes over while Redis is unreachable."""

    def __init__(self, url: str, fallback: ThrottleStore, client: Any | None = None) -> None:
        import redis  # noqa: PLC0415 - redis loads only when configured

        self._redis = client or redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._fallback = fallback
        self._script = self._redis.register_script(_FAIL_LUA)

    @staticmethod
    def _key(bucket: str) -> str:
        return f"shudata:login:{bucket}"

    def get(self, bucket: str) -> State | None:
        try:
            f, lk, u, t = (v.decode() if isinstance(v, bytes) else v
                           for v in self._redis.hmget(self._key(bucket), "f", "l", "u", "t"))
        except Exception as exc:
            log.warning("login throttle: Redis unavailable (%s); using the metadata store", exc)
            return self._fallback.get(bucket)
        if t is None:
            return self._fallback.get(bucket)  # what was counted there while Redis was away still holds
        return State(int(f or 0), int(lk or 0), float(u or 0) or None, float(t))

    def fail(self, bucket: str, now: float, threshold: int, policy: ThrottlePolicy) -> tuple[State, int]:
        try:
            f, lk, u, lock = self._script(keys=[self._key(bucket)], args=[
                int(now), threshold, policy.lockout_s, policy.lockout_max_s, FAILURE_WINDOW_S, FORGET_S])
        except Exception as exc:
            log.warning("login throttle: Redis unavailable (%s); using the metadata store", exc)
            return self._fallback.fail(bucket, now, threshold, policy)
        return State(int(f), int(lk), float(u) or None, float(int(now))), int(lock)

    def clear(self, bucket: str) -> None:
        try:
            self._redis.delete(self._key(bucket))
        except Exception as exc:
            log.warning("login throttle: Redis unavailable (%s)", exc)
        self._fallback.clear(bucket)


def build_store(settings: Settings, engine: Engine) -> ThrottleStore:
    db = DbStore(engine)
    return RedisStore(settings.redis_url, db) if settings.redis_url else db


@dataclass
class LoginGuard:
    """Checks and counts the logins of one kind of account (``account`` for platform users,
    ``developer`` for portal developers). Audits in its own transactions: the login's own
    transaction is rolled back when it fails."""

    engine: Engine
    store: ThrottleStore
    policy: ThrottlePolicy = dataclasses.field(default_factory=ThrottlePolicy)
    clock: Callable[[], float] = time.time

    @classmethod
    def build(cls, settings: Settings, engine: Engine) -> LoginGuard:
        return cls(engine=engine, store=build_store(settings, engine), policy=ThrottlePolicy.from_settings(settings))

    def _buckets(self, scope: str, account: str, ip: str | None) -> list[tuple[str, str, int]]:
        out = [("account", f"{scope}:{account}"[:200], self.policy.max_failures)]
        if ip:
            out.append(("ip", f"ip:{ip}"[:200], self.policy.ip_max_failures))
        return out

    def check(self, *, scope: str, account: str, ip: str | None) -> None:
        """Raise :class:`LoginThrottled` (and audit the refused attempt) while a bucket is locked."""
        now = self.clock()
        for kind, bucket, _ in self._buckets(scope, account, ip):
            wait = remaining(self.store.get(bucket), now)
            if wait:
                self._audit(ip, events.SecurityLoginFailed, scope, account,
                            {"reason": "locked", "scope": kind, "retry_after": wait})
                raise LoginThrottled(kind, wait)

    def failed(self, *, scope: str, account: str, ip: str | None) -> None:
        """Count a failed login (audited); raise :class:`LoginThrottled` when it starts a lock-out."""
        now = self.clock()
        started: tuple[str, int] | None = None
        counts: dict[str, int] = {}
        for kind, bucket, threshold in self._buckets(scope, account, ip):
            state, lock = self.store.fail(bucket, now, threshold, self.policy)
            counts[kind] = state.failures
            if lock:
                self._audit(ip, events.SecurityLoginLocked, scope, account,
                            {"scope": kind, "lock_s": lock, "lockouts": state.lockouts})
                started = started or (kind, lock)
        self._audit(ip, events.SecurityLoginFailed, scope, account, {"reason": "bad_credentials", **{
            f"failures_{k}": v for k, v in counts.items()}})
        if started:
            raise LoginThrottled(*started)

    def succeeded(self, *, scope: str, account: str) -> None:
        """A good login clears its account's failures (not its address's: one valid account must
        not reset the count of guesses at others)."""
        self.store.clear(f"{scope}:{account}"[:200])

    def _audit(self, ip: str | None, kind: type[events.SecurityLoginFailed | events.SecurityLoginLocked], scope: str,
               account: str, details: dict[str, object]) -> None:
        try:
            record_separately(self.engine, Actor.anonymous(ip), kind(
                account_type="developer" if scope == "developer" else "user",
                resource_id=account[:200], details=details))
        except Exception:  # the audit store being busy must not turn a refused login into a 500
            log.exception("could not audit %s", kind.name)
