"""Engine and session factories. SQLite by default, PostgreSQL in production.

Nothing is created at import time; callers build an engine from settings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from shudata.core.config import Settings
from shudata.db.sqlite_writes import TurnTakingConnection

POOL_OVERFLOW = 8
POOL_TIMEOUT_S = 10.0


def make_engine(settings: Settings) -> Engine:
    """Create the metadata-store engine for ``settings``.

    The pool holds one connection per request the server handles at once
    (``SHUDATA_MAX_CONCURRENCY``) plus a few for background work, so a full server never
    waits for a connection; a checkout that still waits gives up after ``POOL_TIMEOUT_S``.

    Raises:
        StoreUnavailable: the URL cannot be parsed or names a driver that is not installed.
    """
    url = settings.resolved_database_url
    kwargs: dict[str, Any] = {"future": True}
    memory = url.startswith("sqlite") and url.removeprefix("sqlite:///") in ("", ":memory:")
    if not memory:
        kwargs.update(pool_size=settings.resolved_db_pool_size, max_overflow=POOL_OVERFLOW,
                      pool_timeout=POOL_TIMEOUT_S)
    if url.startswith("sqlite"):
        db_path = url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if not memory:  # writers of this process take turns in Python (see sqlite_writes)
            kwargs["connect_args"]["factory"] = TurnTakingConnection
    else:
        kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql"):  # an unreachable host fails in seconds, not at the TCP timeout
            kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise StoreUnavailable(url, exc, bad_url=True) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class StoreUnavailable(Exception):
    """The metadata database cannot be reached (or its URL is unusable): one line saying what
    failed, where (the URL without its password) and what to check."""

    def __init__(self, url: str, cause: BaseException, *, bad_url: bool = False) -> None:
        self.url = safe_url(url)
        self.bad_url = bad_url
        orig = getattr(cause, "orig", None) or cause
        first = next((line.strip() for line in str(orig).splitlines() if line.strip()), type(orig).__name__)
        self.reason = first[:200]
        super().__init__(self.en)

    @property
    def zh(self) -> str:
        if self.bad_url:
            return (f"元数据库地址无效：{self.url}（{self.reason}）；"
                    "请检查 SHUDATA_DATABASE_URL 的写法及其驱动是否已安装")
        return (f"无法连接元数据库 {self.url}（{self.reason}）；"
                "请检查 SHUDATA_DATABASE_URL，并确认数据库服务正在运行、可从本机访问")

    @property
    def en(self) -> str:
        if self.bad_url:
            return (f"Unusable metadata database URL {self.url} ({self.reason}); "
                    "check SHUDATA_DATABASE_URL and that its driver is installed")
        return (f"Cannot reach the metadata database {self.url} ({self.reason}); "
                "check SHUDATA_DATABASE_URL and that the database server is running and reachable")


def safe_url(url: str) -> str:
    """``url`` with its password masked, for messages and logs.

    >>> safe_url("postgresql+psycopg://app:s3cret@db.local:5432/shudata")
    'postgresql+psycopg://app:***@db.local:5432/shudata'
    >>> safe_url("not a url")
    '（无法解析的地址 / unparseable URL）'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "（无法解析的地址 / unparseable URL）"


def check_reachable(engine: Engine) -> None:
    """Open one connection to the metadata store and run ``SELECT 1``.

    Raises:
        StoreUnavailable: the database refused or did not answer.
    """
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise StoreUnavailable(engine.url.render_as_string(hide_password=False), exc) from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
