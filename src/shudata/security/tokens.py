"""API token strings: ``sd_<prefix>_<secret>``; stored as SM3 hashes (high entropy, so no slow hash);
and the batched bookkeeping of when each token was last used (:class:`TokenUsage`).

>>> t = new_token()
>>> t.startswith("sd_") and len(t) > 40
True
>>> token_prefix(t) == t.split("_")[1]
True
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time

from sqlalchemy import Engine, Table, bindparam, or_, update

from shudata.core.clock import utcnow
from shudata.security.crypto.sm3 import sm3_hex
from shudata.security.models import ApiToken


def new_token() -> str:
    return f"sd_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def token_prefix(token: str) -> str:
    parts = token.split("_")
    return parts[1] if len(parts) >= 3 else ""


def hash_token(token: str) -> str:
    return sm3_hex(token.encode())


class TokenUsage:
    """When each API token was last used, noted in memory by the request that used it and
    written in batches (one ``UPDATE`` per token, all in one short transaction) by
    :meth:`flush`, which the web application runs every ``interval_s`` seconds in a worker
    thread and once more at shutdown.

    A request therefore never opens a second database connection, nor takes the write lock,
    for bookkeeping; ``last_used_at`` lags the real last use by at most ``interval_s`` (and is
    lost for the last interval if the process is killed with SIGKILL).
    """

    def __init__(self, interval_s: float = 30.0) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._pending: dict[int, dt.datetime] = {}
        self._written: dict[int, float] = {}

    def note(self, token_id: int, when: dt.datetime | None = None) -> None:
        """Remember that ``token_id`` was used (cheap: no I/O; skipped when written recently)."""
        now = time.monotonic()
        with self._lock:
            last = self._written.get(token_id)
            if last is not None and now - last < self.interval_s:
                return
            self._pending[token_id] = when or utcnow()

    def pending(self) -> dict[int, dt.datetime]:
        with self._lock:
            return dict(self._pending)

    def flush(self, engine: Engine) -> int:
        """Write the noted uses; the number of tokens written. On error the uses stay noted."""
        with self._lock:
            todo, self._pending = self._pending, {}
        if not todo:
            return 0
        table = ApiToken.__table__
        if not isinstance(table, Table):  # an invariant, not input: a bug if it breaks
            raise TypeError(f"table is {type(table).__name__}, not Table")
        stmt = (update(table)
                .where(table.c.id == bindparam("tid"),
                       or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("used")))
                .values(last_used_at=bindparam("used")))
        try:
            with engine.begin() as conn:
                conn.execute(stmt, [{"tid": tid, "used": when} for tid, when in sorted(todo.items())])
        except Exception:
            with self._lock:
                for tid, when in todo.items():
                    self._pending.setdefault(tid, when)
            raise
        now = time.monotonic()
        with self._lock:
            self._written.update(dict.fromkeys(todo, now))
            if len(self._written) > 100_000:  # forget old entries rather than grow without bound
                self._written = {k: v for k, v in self._written.items() if now - v < self.interval_s}
        return len(todo)
