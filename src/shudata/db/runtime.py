"""The runtime of one node: settings, metadata engine and session factory, built once
by ``create_app`` or the CLI and passed down (nothing global)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shudata.core.config import Settings
from shudata.db.session import check_reachable, make_engine, make_session_factory, transaction


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema up to date; :class:`~shudata.db.session.StoreUnavailable` when the
        database cannot be reached (checked first, so that is all the caller has to report)."""
        from shudata.db.migrate import upgrade

        check_reachable(self.engine)
        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()
