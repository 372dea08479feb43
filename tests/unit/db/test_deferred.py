"""Writes queued with shudata.db.deferred.before_commit run in the same transaction just before
it commits — not before, not after a rollback; inside a savepoint, at once."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from shudata.db.deferred import before_commit
from shudata.db.sqlite_writes import turn_for


def _insert(value: int):
    return lambda s: s.execute(text("INSERT INTO t VALUES (:a)"), {"a": value})


def _values(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return list(c.execute(text("SELECT a FROM t ORDER BY a")).scalars())


def test_queued_writes_run_at_the_commit(engine: Engine) -> None:
    turn = turn_for(str(engine.url.database))
    with Session(engine) as s:
        before_commit(s, _insert(1))
        before_commit(s, _insert(2))
        s.execute(text("SELECT count(*) FROM t"))
        assert not turn.locked()  # nothing written yet: the write lock is not held while the request goes on
        assert _values(engine) == []
        s.commit()
    assert _values(engine) == [1, 2]
    assert not turn.locked()


def test_a_rollback_forgets_them_and_the_session_goes_on(engine: Engine) -> None:
    with Session(engine) as s:
        before_commit(s, _insert(1))
        s.rollback()
        s.commit()
        assert _values(engine) == []
        before_commit(s, _insert(2))
        s.commit()
    assert _values(engine) == [2]


def test_a_failing_queued_write_fails_the_commit(engine: Engine) -> None:
    def broken(s: Session) -> None:
        s.execute(text("INSERT INTO missing VALUES (1)"))

    with Session(engine) as s:
        s.execute(text("INSERT INTO t VALUES (5)"))
        before_commit(s, broken)
        with pytest.raises(Exception, match="missing"):
            s.commit()
        s.rollback()
    assert _values(engine) == []  # the change it came with is not committed either


def test_inside_a_savepoint_they_run_at_once_and_roll_back_with_it(engine: Engine) -> None:
    with Session(engine) as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        nested = s.begin_nested()
        before_commit(s, _insert(2))
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 2
        nested.rollback()
        s.commit()
    assert _values(engine) == [1]
