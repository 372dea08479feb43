"""Test worlds built once per session and backend, then copied into each test's fresh store.

A world fixture (the sharing ``world``, the ``portal_world``) used to be rebuilt for every test that
asks for it: departments, users with their audit trail, catalog entries, ingested data. Now its
module registers it here (:func:`register`); the first test of a worker (and backend) that needs it
builds it once into a store of its own, and the result is kept as a snapshot:

- SQLite: the store's file (an online backup) and its data directory;
- PostgreSQL: a copy of every filled table in a schema of its own in the session's database, the
  last values of the used sequences, and the data directory.

Each test that needs the world then gets, in ``db_url`` (before any other fixture touches the
store), exactly that state: the SQLite file is copied instead of the empty template; on PostgreSQL
the usual reset empties the store and the snapshot's rows are inserted back (parents first) and
the sequences set where the build left them; the data directory is copied (never linked: a test may
write into it). The world fixture returns the build's value (the ids, actors, ... are the same in
every copy), with the test's own files where the world has some (``restore``). A test therefore
sees what a fresh build would give, and nothing another test wrote; the process caches whose keys a
snapshot makes repeat across tests (random tokens, build times) are emptied at each restore.

A world may be built on another (``includes``: the portal's ``published`` is the ``portal_world`` with three
entries published): a test asking for both is restored from the larger one's snapshot.

A restore happens only when the world fixture in effect is the registered one (a module may define
its own fixture of the same name) and, for a world built with the settings, when the ``settings``
fixture is the one it was registered with (the root one unless ``register`` names another: a directory
or module that overrides it builds the world itself); a world
asked for only through ``request.getfixturevalue`` is built by its fixture as before.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from shudata.core.config import Settings
from shudata.db.base import Base
from shudata.db.registry import load_all_models
from shudata.db.runtime import Runtime

RESTORED = pytest.StashKey[Any]()

Build = Callable[[Runtime, Callable[..., int], Callable[..., Any], Path], Any]


@dataclass(frozen=True)
class World:
    name: str  # the fixture's name
    fixture: Callable[..., Any]  # the registered fixture's function
    build: Build  # (rt, make_department, make_user, tmp) -> the world's value; tmp: a directory for its files
    restore: Callable[[Any, Path], Any]  # (value, a test's tmp_path) -> the test's value
    uses_settings: bool
    includes: tuple[str, ...]  # the keys of the worlds this one is built on (their fixtures get its value)
    settings: tuple[Any, Callable[[Path, str], Settings]] | None  # (settings fixture, its Settings(data_dir, url))


_WORLDS: dict[str, World] = {}  # by key (the fixture's name unless given)


def register(name: str, fixture: Any, build: Build, *, restore: Callable[[Any, Path], Any] | None = None,
             uses_settings: bool = False, key: str | None = None, includes: tuple[str, ...] = (),
             settings: tuple[Any, Callable[[Path, str], Settings]] | None = None) -> None:
    """Register the world fixture ``fixture`` called ``name``, built by ``build``, under ``key`` (default: the
    name; a world whose fixture shares another's name needs a key of its own).

    ``includes``: the keys of worlds whose fixtures this one's asks for and whose state its build starts from
    (``build`` builds them first, itself): a test asking for it is restored from its snapshot, and those worlds'
    fixtures return its value. The value must therefore be theirs (a world built on ``portal_world`` returns
    the ``PortalWorld``).

    ``settings``: for a world built with the settings of a directory's own ``settings`` fixture, that fixture
    and a function giving the same ``Settings`` for a data directory and a store URL (default: the root
    fixture's); a test under another ``settings`` fixture builds the world itself."""
    _WORLDS[key or name] = World(name=name, fixture=_function(fixture), build=build,
                                 restore=restore or (lambda value, _tmp: value),
                                 uses_settings=uses_settings or settings is not None, includes=includes,
                                 settings=(_function(settings[0]), settings[1]) if settings else None)


def _function(fixture: Any) -> Callable[..., Any]:
    inner = getattr(fixture, "_get_wrapped_function", None)  # pytest >= 8.4: a FixtureFunctionDefinition
    return inner() if inner else getattr(fixture, "__wrapped__", fixture)


def _definition(request: pytest.FixtureRequest, name: str) -> Any:
    defs = request.node._fixtureinfo.name2fixturedefs.get(name)  # the fixture in effect: the last
    return defs[-1] if defs else None


def wanted(request: pytest.FixtureRequest, root_settings: Any) -> str | None:
    """The key of the registered world this test needs, when it can be restored (see the module's docstring);
    ``root_settings``: the root conftest's ``settings`` fixture. When it needs several, the one that includes
    all the others (``register``'s ``includes``), else none."""
    keys = []
    for name in request.fixturenames:
        fixturedef = _definition(request, name)
        for key, world in _WORLDS.items():
            if world.name != name or fixturedef is None or _function(fixturedef.func) is not world.fixture:
                continue
            settings_def = _definition(request, "settings")
            expected = world.settings[0] if world.settings else _function(root_settings)
            if world.uses_settings and (settings_def is None or _function(settings_def.func) is not expected):
                continue
            keys.append(key)
    top = [k for k in keys if all(o == k or o in _WORLDS[k].includes for o in keys)]
    return top[0] if len(top) == 1 else None


def restored(request: pytest.FixtureRequest, key: str) -> Any:
    """World ``key``'s value when ``db_url`` restored it (or a world that includes it) for this test, else None
    (its fixture builds it)."""
    done = request.node.stash.get(RESTORED, None)
    if done is None:
        return None
    return done[1] if done[0] == key or key in _WORLDS[done[0]].includes else None


@dataclass
class _Snapshot:
    value: Any
    data_dir: Path
    db_file: Path | None = None  # SQLite
    schema: str | None = None  # PostgreSQL: the schema holding the filled tables' rows
    tables: list[str] = field(default_factory=list)  # PostgreSQL: the filled tables, parents first
    sequences: list[tuple[str, int]] = field(default_factory=list)  # PostgreSQL


def _forget_caches() -> None:
    """Empty the process's caches whose keys a snapshot makes the same in every test, where fresh builds made
    them differ: the encoded catalog pages (keyed by a version's path inside the lake, with its random token)
    and the portal's search index (keyed by the store's URL, the same for every PostgreSQL test, and the
    newest publication and entry change, which a fresh build stamped with its own time) and the encoded
    datastore pages (keyed by a publication's id and file, the same in every copy of a world that publishes).
    A test must not be answered from what the previous one left."""
    from shudata.catalog import reads
    from shudata.portal import index
    from shudata.portal.logic import datastore

    for module in (reads, datastore):
        old = module._PAGES
        module._PAGES = type(old)(old.max_bytes, admit_after=old.admit_after, remember=old.remember)
    with index._LOCK:
        index._SNAPSHOTS.clear()


class Snapshots:
    """The worker's snapshots, by (world, backend)."""

    def __init__(self, root: Path, makers: Callable[[Runtime], tuple[Callable[..., int], Callable[..., Any]]]):
        self.root = root
        self.makers = makers
        self._made: dict[tuple[str, str], _Snapshot] = {}
        self._pg: dict[str, Engine] = {}

    def _build(self, name: str, key: str, url: str) -> tuple[Any, Path]:
        """Build world ``name`` into the store at ``url`` (fresh) with a data directory of its own."""
        tmp = self.root / f"{name}-{key}"
        (tmp / "files").mkdir(parents=True)
        made = _WORLDS[name].settings
        settings = (made[1](tmp / "data", url) if made
                    else Settings(env="test", data_dir=tmp / "data", database_url=url, query_timeout_s=10))
        rt = Runtime.build(settings)
        try:
            make_department, make_user = self.makers(rt)
            value = _WORLDS[name].build(rt, make_department, make_user, tmp / "files")
        finally:
            rt.close()
        return value, settings.data_dir

    def sqlite(self, name: str, template: Path) -> _Snapshot:
        """The SQLite snapshot of world ``name`` (built on first use from the migrated ``template``)."""
        snap = self._made.get((name, "sqlite"))
        if snap is None:
            built = self.root / f"{name}-sqlite.build.db"
            shutil.copy(template, built)
            value, data_dir = self._build(name, "sqlite", f"sqlite:///{built}")
            db_file = self.root / f"{name}-sqlite.db"
            src, dst = sqlite3.connect(built), sqlite3.connect(db_file)
            try:
                src.backup(dst)  # one consistent file, whatever the build left in its write-ahead log
            finally:
                src.close()
                dst.close()
            snap = self._made[(name, "sqlite")] = _Snapshot(value=value, data_dir=data_dir, db_file=db_file)
        return snap

    def postgresql(self, name: str, url: str, reset: Callable[[str], None]) -> _Snapshot:
        """The PostgreSQL snapshot of world ``name``, built on first use in the session's store ``url``
        (emptied by ``reset`` first) and kept in the schema ``snap_<name>`` of that database."""
        snap = self._made.get((name, "postgresql"))
        if snap is None:
            reset(url)
            value, data_dir = self._build(name, "postgresql", url)
            load_all_models()
            schema = f"snap_{name}"
            with self._engine(url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                tables = []
                for table in Base.metadata.sorted_tables:  # parents first
                    if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{table.name}")')).scalar():
                        conn.execute(text(f'CREATE TABLE "{schema}"."{table.name}" AS TABLE "{table.name}"'))
                        tables.append(table.name)
                sequences = [(str(r[0]), int(r[1])) for r in conn.execute(text(
                    "SELECT sequencename, last_value FROM pg_sequences "
                    "WHERE schemaname = current_schema() AND last_value IS NOT NULL"))]
            snap = self._made[(name, "postgresql")] = _Snapshot(value=value, data_dir=data_dir, schema=schema,
                                                                tables=tables, sequences=sequences)
        return snap

    def _engine(self, url: str) -> Engine:
        if url not in self._pg:
            self._pg[url] = create_engine(url, pool_size=1)
        return self._pg[url]

    def insert(self, snap: _Snapshot, url: str) -> None:
        """Put the snapshot's rows back into the (just emptied) PostgreSQL store ``url``."""
        with self._engine(url).begin() as conn:
            for table in snap.tables:
                conn.execute(text(f'INSERT INTO "{table}" OVERRIDING SYSTEM VALUE '
                                  f'SELECT * FROM "{snap.schema}"."{table}"'))
            for sequence, last in snap.sequences:
                conn.execute(text("SELECT setval(format('%I', CAST(:s AS text))::regclass, :v, true)"),
                             {"s": sequence, "v": last})

    def copy_files(self, name: str, snap: _Snapshot, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        """The snapshot's data directory as the test's (``settings.data_dir`` is ``tmp_path / "data"``), and
        the world's value for the test's fixture."""
        # a half-written cache file (``*.tmp``, renamed when complete) of a server thread still running over the
        # world can vanish during the copy (CI: portal download cache, 2 errors); it is never part of the world
        shutil.copytree(snap.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("*.tmp"))
        _forget_caches()
        request.node.stash[RESTORED] = (name, _WORLDS[name].restore(snap.value, tmp_path))

    def close(self) -> None:
        for engine in self._pg.values():
            engine.dispose()
        self._pg.clear()
