"""Shared fixtures: settings, metadata store on SQLite *and* PostgreSQL, app, client, actors.

Every test that uses ``rt`` (or anything built on it) runs once per backend. Mark a test
``@pytest.mark.sqlite_only`` when the backend does not matter to it (browser, big files).
Backends are chosen by ``SHUDATA_TEST_DBS`` (default ``sqlite,postgresql``); PostgreSQL is
``SHUDATA_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When
PostgreSQL is unreachable, its tests fail in CI and are skipped elsewhere with the reason.
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.base import Base
from shudata.db.migrate import upgrade
from shudata.db.registry import load_all_models
from shudata.db.runtime import Runtime
from shudata.standards.uscc import complete as complete_uscc
from support import snapshots

PG_BASE = os.environ.get("SHUDATA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("SHUDATA_TEST_DBS", "sqlite,postgresql").split(",") if b.strip()]
TEST_USCC = [complete_uscc(f"11510000000{i:06d}") for i in range(1, 41)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: run on the SQLite backend only")
    from shudata.security.passwords import use_fast_hashing_for_tests

    use_fast_hashing_for_tests()
    from support import fastapi_memo

    fastapi_memo.install()  # the test apps' routes are built from the first app's signatures and fields


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection left alive (the ~800,000 objects of the imported modules, test modules and
    items, which live as long as the process) out of the cyclic collector's sight, and collect the
    youngest generation every 10,000 allocations instead of 700. A full collection then scans what the
    tests allocated, not everything: it cost ~0.3 s of CPU each time, ~0.07 s per app a test builds
    (the server does the same at start-up, web/app.py). What a test allocates is still collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


LONG_MARKS = ("slow", "browser", "spark")
# a live server in a thread, driven by real clients (CKAN's, the official Delta Sharing client in its own
# virtualenv): 15-40 s a test on this machine, in files of one to a few tests
LONG_FIXTURES = ("live_server",)


def _long(item: pytest.Item) -> bool:
    return (any(item.get_closest_marker(m) for m in LONG_MARKS)
            or any(f in LONG_FIXTURES for f in getattr(item, "fixturenames", ())))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding long tests (marked slow, browser or spark, or using a live server) first, the most
    such tests first, then the other files by their number of tests; a file's tests stay together, in
    their order.

    ``make test`` hands whole files to the xdist workers in this order (``--dist loadfile
    --no-loadscope-reorder``): xdist's own order (most tests first) sent the few-test, minutes-long
    files (servers killed, browsers, schemathesis) last, where one of them ran on alone at the end; by
    test count alone, the one-test live-server files (test_delta_sharing.py, ~37 s a backend) came last.
    """
    long_tests = Counter(item.path for item in items if _long(item))
    tests = Counter(item.path for item in items)
    first: dict[Path, int] = {}
    for i, item in enumerate(items):
        first.setdefault(item.path, i)
    items.sort(key=lambda item: (-long_tests[item.path], -tests[item.path], first[item.path]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        metafunc.parametrize("backend", ["sqlite"] if only else BACKENDS, scope="session")


# -- databases -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (fast isolation)."""
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, migrated once."""
    name = f"shudata_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # a throwaway store: a commit need not wait for its WAL flush (4 ms -> 0.5 ms a commit on this
            # machine); what a commit makes visible and atomic is unchanged, only a server crash could lose it
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_BASE}: {exc}")
    url = PG_BASE.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    if url in _PG_RESET:
        _PG_RESET.pop(url)[0].dispose()
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


_PG_RESET: dict[str, tuple[Engine, str, list[str]]] = {}

# every sequence a test advanced (a rolled-back insert too) starts again, as TRUNCATE … RESTART IDENTITY did
_RESTART_SEQUENCES = ("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                      "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL")


def _reset_pg(url: str) -> None:
    """Empty every table of the store and restart its sequences, before each test.

    One ``TRUNCATE`` of all ~90 tables costs 1–4 s on PostgreSQL (new files for every table
    and index, whatever they hold), about a thousand times per run; a test fills only a few
    tables. So: one query finds the tables holding rows, those are emptied with ``DELETE``
    (children before parents, in one transaction: a few milliseconds), and the used
    sequences restart. Same end state as ``TRUNCATE … RESTART IDENTITY CASCADE``.
    """
    if url not in _PG_RESET:
        load_all_models()
        tables = [t.name for t in Base.metadata.sorted_tables]
        filled = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
        _PG_RESET[url] = (create_engine(url, pool_size=1, pool_pre_ping=True), filled, tables)
    engine, filled_sql, tables = _PG_RESET[url]
    with engine.begin() as conn:
        filled = {row[0] for row in conn.execute(text(filled_sql))}
        for name in reversed(tables):  # children first: no foreign key is left pointing at a deleted row
            if name in filled:
                conn.execute(text(f'DELETE FROM "{name}"'))
        conn.execute(text(_RESTART_SEQUENCES))


@pytest.fixture(scope="session")
def world_snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[snapshots.Snapshots]:
    """The worlds (``world``, ``portal_world``) built once per backend, copied into each test's store."""
    shots = snapshots.Snapshots(tmp_path_factory.mktemp("worlds"), lambda rt: (department_maker(rt), user_maker(rt)))
    yield shots
    shots.close()


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh store for the test: empty, or holding the one snapshot world it asks for (support.snapshots)."""
    world = snapshots.wanted(request, settings)
    shots: snapshots.Snapshots | None = request.getfixturevalue("world_snapshots") if world else None
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        if world and shots:
            snap = shots.sqlite(world, template)
            template = snap.db_file or template
            shots.copy_files(world, snap, request, tmp_path)
        target = tmp_path / "meta.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_url")
    if world and shots:
        snap = shots.postgresql(world, url, _reset_pg)
        _reset_pg(url)
        shots.insert(snap, url)
        shots.copy_files(world, snap, request, tmp_path)
        return url
    _reset_pg(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, query_timeout_s=10)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.build(settings)
    yield runtime
    runtime.close()


# -- actors --------------------------------------------------------------------------------

SYSTEM = Actor.system()


def department_maker(rt: Runtime) -> Callable[..., int]:
    """``make(name, region_code)``: a new department with the next unused test USCC (after the ones a
    restored world holds); its id."""
    from shudata.security.schemas import DepartmentCreate
    from shudata.security.service import create_department

    with rt.engine.connect() as conn:
        taken = {row[0] for row in conn.execute(text("SELECT uscc FROM security_department"))}
    counter = iter(range(max((i + 1 for i, code in enumerate(TEST_USCC) if code in taken), default=0),
                         len(TEST_USCC)))

    def make(name: str | None = None, region_code: str = "510000") -> int:
        i = next(counter)
        with rt.transaction() as s:
            d = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
                name=name or f"测试部门{i}", uscc=TEST_USCC[i], region_code=region_code))
        return d.id

    return make


@pytest.fixture
def make_department(rt: Runtime) -> Callable[..., int]:
    return department_maker(rt)


def user_maker(rt: Runtime) -> Callable[..., Actor]:
    from shudata.security.models import User
    from shudata.security.schemas import UserCreate
    from shudata.security.service import actor_for, create_user

    def make(username: str, *roles: Role, department_id: int | None = None,
             password: str = "Tianfu-Data-7") -> Actor:
        with rt.transaction() as s:
            u = create_user(session=s, actor=SYSTEM, data=UserCreate(
                username=username, display_name=username, password=password,
                department_id=department_id, roles=list(roles) or [Role.DEPT_USER]))
            row = s.get(User, u.id)
            assert row is not None
            return actor_for(row)

    return make


@pytest.fixture
def make_user(rt: Runtime) -> Callable[..., Actor]:
    return user_maker(rt)


@pytest.fixture
def token_for(rt: Runtime) -> Callable[[str], dict[str, str]]:
    from shudata.security.schemas import TokenCreate
    from shudata.security.service import create_token

    def make(username: str, days: int | None = 30) -> dict[str, str]:
        with rt.transaction() as s:
            tok = create_token(session=s, actor=SYSTEM, data=TokenCreate(expires_in_days=days), username=username)
        return {"Authorization": f"Bearer {tok.token}"}

    return make


# -- web -------------------------------------------------------------------------------------

@pytest.fixture
def app(rt: Runtime) -> Any:
    from shudata.web.app import create_app

    return create_app(runtime=rt, migrate=False)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
