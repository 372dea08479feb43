"""Rate limits for the public portal: fixed windows per API key or per client IP.

In-process by default; shared through Redis (``INCR`` + ``EXPIRE`` on a key per bucket and
window) when ``SHUDATA_REDIS_URL`` is set, so several workers or nodes count together. If
Redis cannot be reached the limiter falls back to counting in-process (and says so in the
decision), never letting an outage turn every request into a 500.

>>> lim = MemoryLimiter()
>>> [lim.hit("ip:1.2.3.4", 2, 60, now=100.0).allowed for _ in range(3)]
[True, True, False]
>>> lim.hit("ip:1.2.3.4", 2, 60, now=161.0).allowed  # the next window
True

Only a *live* key earns the key's limit: :class:`KeyCheck` asks the metadata store whether a
portal API key (``sdk_…``) or a platform API token (``sd_…``) exists and is neither revoked,
expired nor disabled. A made-up key counts as no key at all (the anonymous per-IP limit).
A live key whose public label (``sdk_<prefix>``) the operator lists in
``SHUDATA_PORTAL_RATE_EXEMPT_KEYS`` is not limited at all (a harvester the portal agreed to
serve); the setting holds labels only, never a secret, and a forged key with a listed
prefix is not live, so it gains nothing.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.core.clock import ensure_aware, utcnow
from shudata.portal.models import PortalApiKey, PortalDeveloper
from shudata.security.crypto.sm3 import sm3_hex
from shudata.security.models import ApiToken

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the window ends
    backend: str
    count: int = 0  # requests in this window so far, this one included


class Limiter(Protocol):
    def hit(self, bucket: str, limit: int, window_s: int, now: float | None = None) -> Decision: ...


class MemoryLimiter:
    """Counters in this process (one per bucket and window), pruned as windows pass."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}
        self._last_prune = 0

    def hit(self, bucket: str, limit: int, window_s: int, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        window = int(now // window_s)
        with self._lock:
            if window != self._last_prune:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
                self._last_prune = window
            n = self._counts.get((bucket, window), 0) + 1
            self._counts[(bucket, window)] = n
        reset = int((window + 1) * window_s - now) + 1
        return Decision(n <= limit, limit, max(0, limit - n), reset, "memory", n)


class RedisLimiter:
    """Counters in Redis: ``shudata:rl:<bucket>:<window>`` with an expiry of one window."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        import redis  # noqa: PLC0415 - redis loads only when configured

        self._redis = client or redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._fallback = MemoryLimiter()

    def hit(self, bucket: str, limit: int, window_s: int, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        window = int(now // window_s)
        key = f"shudata:rl:{bucket}:{window}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, window_s + 1)
            n = int(pipe.execute()[0])
        except Exception as exc:  # Redis down: count locally rather than fail every request
            log.warning("rate limiter: Redis unavailable (%s); counting in-process", exc)
            d = self._fallback.hit(bucket, limit, window_s, now)
            return Decision(d.allowed, d.limit, d.remaining, d.reset_s, "memory-fallback", d.count)
        reset = int((window + 1) * window_s - now) + 1
        return Decision(n <= limit, limit, max(0, limit - n), reset, "redis", n)


def build(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


MAX_KEY_CHARS = 200


def key_label(session: Session, raw: str) -> str | None:
    """The public label of ``raw`` when it is a live portal API key or platform API token —
    ``sdk_<prefix>`` / ``sd_<prefix>``, the part of a key shown on the developer's page and in
    the audit trail (never the secret) — else ``None``."""
    if not raw or len(raw) > MAX_KEY_CHARS:
        return None
    digest = sm3_hex(raw.encode())
    if raw.startswith("sdk_"):
        row = session.execute(select(PortalApiKey.revoked_at, PortalDeveloper.is_active, PortalApiKey.prefix)
                              .join(PortalDeveloper, PortalDeveloper.id == PortalApiKey.developer_id)
                              .where(PortalApiKey.key_hash == digest)).first()
        return f"sdk_{row[2]}" if row is not None and row[0] is None and bool(row[1]) else None
    if raw.startswith("sd_"):
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        live = token is not None and token.revoked_at is None and token.user.is_active and (
            token.expires_at is None or ensure_aware(token.expires_at) > utcnow())
        return f"sd_{token.prefix}" if live and token is not None else None
    return None


def live_key(session: Session, raw: str) -> bool:
    """Is ``raw`` a live portal API key or platform API token?"""
    return key_label(session, raw) is not None


def exempt_labels(setting: str) -> frozenset[str]:
    """``SHUDATA_PORTAL_RATE_EXEMPT_KEYS`` (labels, comma- or space-separated) as a set.

    >>> sorted(exempt_labels(" sdk_ab12cd34, sdk_EF56 "))
    ['sdk_ab12cd34', 'sdk_ef56']
    """
    return frozenset(x.strip().lower() for x in setting.replace(",", " ").split() if x.strip())


class KeyCheck:
    """``key_label`` with a short memory (both answers), so a key is looked up at most once
    per ``ttl_s`` whatever the request rate; at most ``max_entries`` keys are remembered.
    Calling it answers whether the key is live; :meth:`label` gives its public label."""

    def __init__(self, sessions: Callable[[], Session], ttl_s: float = 30.0, max_entries: int = 10_000) -> None:
        self.sessions, self.ttl_s, self.max_entries = sessions, ttl_s, max_entries
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, tuple[float, str | None]] = OrderedDict()

    def __call__(self, raw: str) -> bool:
        return self.label(raw) is not None

    def label(self, raw: str) -> str | None:
        fp = hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(fp)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        try:
            with self.sessions() as session:
                label = key_label(session, raw)
        except Exception as exc:  # the store unreachable: no key's limit, never a 500
            log.warning("rate limiter: cannot check an API key (%s); counting it as anonymous", exc)
            return None
        with self._lock:
            self._seen[fp] = (now, label)
            self._seen.move_to_end(fp)
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)
        return label


class FileLimiter:
    """Fixed-window counters in a SQLite file shared by the worker processes of one node.

    One upsert per hit (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) in WAL mode without
    fsync: the counts are worth a minute, not a crash. Windows that have passed are deleted once
    a window. Should the file fail (disk full, locked past the timeout), the hit is counted in
    this process instead and the decision says ``file-fallback``.

    >>> import tempfile
    >>> lim = FileLimiter(Path(tempfile.mkdtemp()) / "rl.sqlite3")
    >>> [lim.hit("ip:1.2.3.4", 2, 60, now=100.0).allowed for _ in range(3)]
    [True, True, False]
    >>> lim.hit("ip:1.2.3.4", 2, 60, now=161.0).backend
    'file'
    """

    blocking = True  # the middleware calls it in a worker thread

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._fallback = MemoryLimiter()
        self._pruned = 0
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS hits (bucket TEXT NOT NULL, win INTEGER NOT NULL, "
                       "n INTEGER NOT NULL, PRIMARY KEY (bucket, win)) WITHOUT ROWID")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=2.0, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            self._local.db = db
        return db

    def hit(self, bucket: str, limit: int, window_s: int, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        window = int(now // window_s)
        try:
            db = self._db()
            row = db.execute("INSERT INTO hits (bucket, win, n) VALUES (?, ?, 1) ON CONFLICT (bucket, win) "
                             "DO UPDATE SET n = n + 1 RETURNING n", (bucket, window)).fetchone()
            n = int(row[0])
            if window != self._pruned:
                self._pruned = window
                db.execute("DELETE FROM hits WHERE win < ?", (window - 1,))
        except sqlite3.Error:
            d = self._fallback.hit(bucket, limit, window_s, now)
            return Decision(d.allowed, d.limit, d.remaining, d.reset_s, "file-fallback", d.count)
        reset = int((window + 1) * window_s - now) + 1
        return Decision(n <= limit, limit, max(0, limit - n), reset, "file", n)


def limiter_for(redis_url: str | None, workers: int, data_dir: Path) -> Limiter:
    """Redis when configured; else a file all ``workers`` count in when there are several; else
    counters in this process."""
    if redis_url or workers <= 1:
        return build(redis_url)
    return FileLimiter(data_dir / "run" / "ratelimit.sqlite3")
