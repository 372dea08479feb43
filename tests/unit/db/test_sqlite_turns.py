"""SQLite writers of one process take turns in Python (shudata.db.sqlite_writes): a write
transaction holds the turn until it ends, readers never wait for it, every write lands."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, text

from shudata.db import sqlite_writes
from shudata.db.sqlite_writes import TurnTakingConnection, turn_for


def _turn(engine: Engine) -> threading.Lock:
    return turn_for(str(engine.url.database))


def test_the_store_uses_turn_taking_connections(engine: Engine) -> None:
    with engine.connect() as c:
        assert isinstance(c.connection.dbapi_connection, TurnTakingConnection)


def test_a_write_transaction_holds_the_turn_until_it_ends(engine: Engine) -> None:
    turn = _turn(engine)
    with engine.connect() as c:
        c.execute(text("SELECT count(*) FROM t"))
        assert not turn.locked()  # a read takes no turn
        c.execute(text("INSERT INTO t VALUES (1)"))
        assert turn.locked()
        c.execute(text("INSERT INTO t VALUES (2)"))  # the same transaction: no second turn
        c.commit()
        assert not turn.locked()
        c.execute(text("UPDATE t SET a = 3 WHERE a = 1"))
        assert turn.locked()
        c.rollback()
        assert not turn.locked()
        c.execute(text("DELETE FROM t"))
        assert turn.locked()
    assert not turn.locked()  # back to the pool: rolled back, turn given back
    with engine.connect() as c:
        assert c.execute(text("SELECT a FROM t ORDER BY a")).scalars().all() == [1, 2]


def test_a_second_writer_waits_for_the_turn_and_readers_do_not(engine: Engine) -> None:
    order: list[str] = []
    started = threading.Event()

    def second() -> None:
        with engine.begin() as c:
            started.set()
            c.execute(text("INSERT INTO t VALUES (20)"))
            order.append("second wrote")

    with engine.connect() as first:
        first.execute(text("INSERT INTO t VALUES (10)"))
        other = threading.Thread(target=second)
        other.start()
        assert started.wait(5)
        time.sleep(0.2)
        assert order == []  # waiting for the turn (not in SQLite's busy handler)
        with engine.connect() as reader:  # WAL: a reader sees the last commit at once
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
        order.append("first commits")
        first.commit()
        other.join(10)
    assert order == ["first commits", "second wrote"]
    with engine.connect() as c:
        assert sorted(c.execute(text("SELECT a FROM t")).scalars()) == [10, 20]


def test_many_concurrent_writers_lose_nothing(engine: Engine) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(10):
                with engine.begin() as c:
                    c.execute(text("INSERT INTO t VALUES (:a)"), {"a": k * 100 + i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    with engine.connect() as c:
        assert c.execute(text("SELECT count(DISTINCT a) FROM t")).scalar() == 120
    assert not _turn(engine).locked()


def test_a_writer_that_waits_too_long_goes_on_and_sqlite_decides(engine: Engine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writes, "TURN_TIMEOUT_S", 0.1)
    turn = _turn(engine)
    assert turn.acquire(timeout=1)  # held by someone that never writes (e.g. a stuck thread)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (7)"))  # SQLite itself has no writer: it goes through
    finally:
        turn.release()
    with engine.connect() as c:
        assert c.execute(text("SELECT a FROM t")).scalars().all() == [7]


def test_statements_that_start_a_write() -> None:
    assert sqlite_writes.starts_write("\n  insert into t values (1)")
    assert sqlite_writes.starts_write("REPLACE INTO t VALUES (1)")
    assert sqlite_writes.starts_write("delete from t")
    assert not sqlite_writes.starts_write("SELECT * FROM t")
    assert not sqlite_writes.starts_write("PRAGMA journal_mode")
