"""The runtime of one node: settings, metadata engine and session factory, and the plugin
manager, built once by ``create_app`` or the CLI and passed down (nothing global).

Every session the runtime makes carries its plugin manager (``session.info["plugins"]``,
read with :func:`shudata.core.plugins.plugins_of`), so a service holding a session reaches
the hooks of its own runtime; and its settings (``session.info["settings"]``), for a hook
implementation whose hook passes none (the market ledger signs its checkpoints with them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shudata.core.config import Settings
from shudata.core.plugins import PluginManager, make_plugin_manager
from shudata.db.session import check_reachable, make_engine, make_session_factory, transaction


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    plugins: PluginManager

    @classmethod
    def build(cls, settings: Settings, *, plugins: PluginManager | None = None) -> Runtime:
        """``plugins``: default, the built-ins, plus the installed ``shudata`` entry points
        outside tests (``settings.env == "test"`` loads none)."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        pm = plugins or make_plugin_manager(load_entrypoints=settings.env != "test")
        engine = make_engine(settings)
        sessions = make_session_factory(engine)
        sessions.configure(info={"plugins": pm, "settings": settings})
        return cls(settings=settings, engine=engine, sessions=sessions, plugins=pm)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema up to date; :class:`~shudata.db.session.StoreUnavailable` when the
        database cannot be reached (checked first, so that is all the caller has to report)."""
        from shudata.db.migrate import upgrade  # noqa: PLC0415 - alembic loads only when migrating (start-up time)

        check_reachable(self.engine)
        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()
