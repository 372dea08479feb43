"""Masked files prepared ahead of delivery, in the background.

A file delivery of a grant (Delta Sharing, REST pages and downloads) needs the masked
Parquet file of the grant's view of the version, and building it costs a sample scan of
the version (the entity types the masking profile acts on, when no scan report is saved)
and a masked export of the whole version — seconds for a million rows. Both are done
here, in one background thread, once the transaction that made a grant (:func:`after_grant`)
or published a version of an entry (:func:`after_version`) has committed, so the first
consumer call finds the file ready. For an entry with a declared key the new version's change
file (the Delta Sharing change data feed, :mod:`shudata.sharing.delta_sharing.changes`) is
written too, from the previous version's masked file while it is still there.

Nothing here bypasses the policy: the file is the one :func:`~shudata.sharing.delivery.masked_file`
builds on demand (the same view, the same name, which hashes the grant, the version and
the masking SQL), the grant is re-checked on every call, and a call arriving before the
file is ready waits for the build in progress or builds the file itself. A changed grant
or policy changes the name, so a file prepared for older terms is never served.

The job only reads the metadata database, in short sessions of its own, and writes under
``data_dir/delivery``; it records nothing, and a failure costs only speed (logged). Having
written a grant's file it removes that grant's superseded files (older versions or terms)
once their signed URLs have expired; one asked for again is rebuilt.

With several worker processes (``serve --workers N``) a job holds ``data_dir/run/prepare.lock``
(``flock``) while it runs, so the workers of a node prepare one at a time and a job finds the
files another worker has just written instead of building them again.

Other Delta Sharing recipients (a market buyer's entitlement) are prepared the same way, through
the :class:`~shudata.sharing.delta_sharing.server.Recipient` protocol: for a new version of an entry,
the ``sharing_recipients_for_resource`` hook names the live recipients whose tables read it, and
each such table is served once (``Recipient.serve``, which writes the recipient's masked file).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import BadRequest, InvalidInput, NotFound, PermissionDenied, Unavailable
from shudata.core.plugins import plugins_of
from shudata.lake.models import LakeVersion
from shudata.lake.service import latest_version, version_files
from shudata.query.engines.base import TableSource
from shudata.sharing.delivery import GrantView, forget_views, masked_file, view_of
from shudata.sharing.delta_sharing.changes import change_file, declared_key
from shudata.sharing.delta_sharing.server import URL_TTL_S
from shudata.sharing.delta_sharing.versions import previous
from shudata.sharing.masking import forget_findings, masking_state, scanned_findings
from shudata.sharing.models import SharingGrant

log = logging.getLogger("shudata.sharing.prepare")

_INFO_KEY = "shudata.sharing.prepare"
_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_pending: set[Future[list[Path]]] = set()
_stopping = threading.Event()


@dataclass(frozen=True)
class Target:
    """What to prepare: one grant, or every usable grant on one entry."""

    grant_id: int | None = None
    resource_id: int | None = None
    grants: bool = True  # False: only the other recipients on ``resource_id`` (a market order starts delivering)


def after_grant(session: Session, settings: Settings, grant_id: int) -> None:
    """Prepare the masked file of ``grant`` once ``session`` commits (nothing on rollback)."""
    _schedule(session, settings, Target(grant_id=grant_id))


def after_version(session: Session, settings: Settings, resource_id: int) -> None:
    """Prepare the masked files of the usable grants on ``resource_id`` once ``session`` commits."""
    _schedule(session, settings, Target(resource_id=resource_id))


def after_recipients(session: Session, settings: Settings, resource_id: int) -> None:
    """Prepare the files of the live recipients (not grants) reading ``resource_id`` once ``session`` commits."""
    _schedule(session, settings, Target(resource_id=resource_id, grants=False))


def _schedule(session: Session, settings: Settings, target: Target) -> None:
    bind = session.get_bind()
    if not isinstance(bind, Engine):  # a session bound to one connection: nothing to share with a thread
        return
    pending: list[Target] | None = session.info.get(_INFO_KEY)
    if pending is None:
        pending = session.info[_INFO_KEY] = []

        def on_commit(s: Session) -> None:
            todo = s.info.pop(_INFO_KEY, None)
            try:
                if todo:
                    submit(bind, settings, todo)
            except RuntimeError:  # shutting down: the commit stands, the first call builds the files
                log.warning("masked files not prepared: %s", todo, exc_info=True)

        def on_rollback(s: Session) -> None:
            s.info.pop(_INFO_KEY, None)

        event.listen(session, "after_commit", on_commit, once=True)
        event.listen(session, "after_rollback", on_rollback, once=True)
    if target not in pending:
        pending.append(target)


def submit(engine: Engine, settings: Settings, targets: Iterable[Target]) -> Future[list[Path]]:
    """Queue a background preparation (one worker thread; jobs run in order).

    Raises:
        RuntimeError: the process is shutting down (:func:`shutdown`).
    """
    global _executor
    with _lock:
        if _stopping.is_set():
            raise RuntimeError("shutting down: no new preparations")
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shudata-prepare")
        future = _executor.submit(_run, engine, settings, list(targets))
        _pending.add(future)
    future.add_done_callback(_done)
    return future


def _done(future: Future[list[Path]]) -> None:
    with _lock:
        _pending.discard(future)


def wait(timeout: float | None = None) -> bool:
    """Wait for the queued preparations (tests, benchmarks); True when all finished. A process
    that exits waits for the job in progress (its worker thread is joined at exit) unless
    :func:`shutdown` stopped it."""
    with _lock:
        futures = set(_pending)
    _, not_done = wait_futures(futures, timeout=timeout)
    return not not_done


def shutdown() -> int:
    """Stop preparing (the server is shutting down): queued jobs are dropped, the job in
    progress stops before its next grant (its query is interrupted with every other by
    the engine), and the worker thread is not waited for. Nothing is lost but speed: the
    first call after a restart builds a missing file itself. Returns the jobs dropped."""
    global _executor
    _stopping.set()
    with _lock:
        executor, _executor = _executor, None
        dropped = sum(1 for f in _pending if not f.running() and not f.done())
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    return dropped


def restart() -> None:
    """Accept preparations again after :func:`shutdown` (a new server in the same process: tests)."""
    _stopping.clear()


def forget_caches() -> None:
    """Drop what this process keeps in memory about views and scans (files stay); for benchmarks."""
    forget_views()
    forget_findings()


@contextlib.contextmanager
def _node_lock(settings: Settings) -> Iterator[None]:
    """One preparation at a time among the processes sharing the data folder."""
    path = settings.data_dir / "run" / "prepare.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a")
    except OSError:  # no lock to be had: prepare anyway (a cache; at worst built twice)
        yield
        return
    with f:
        while True:  # wait for another worker's job, but not past this process's shutdown
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if _stopping.wait(0.2):
                    raise Unavailable("服务正在停止", "The server is shutting down",
                                      code="shutting_down") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


node_lock = _node_lock  # also held by the delivery file cleanup (:mod:`shudata.sharing.cleanup`)


def _run(engine: Engine, settings: Settings, targets: list[Target]) -> list[Path]:
    if not settings.data_dir.is_dir():
        return []
    try:
        with _node_lock(settings):
            return _run_targets(engine, settings, targets)
    except Unavailable:  # stopped while waiting for another worker's job: the next start prepares
        return []


def _run_targets(engine: Engine, settings: Settings, targets: list[Target]) -> list[Path]:
    done: list[Path] = []
    for target in targets:
        if _stopping.is_set():
            break
        try:
            done += prepare(engine, settings, target)
        except Unavailable:  # the server is stopping: the next start prepares what is missing
            log.info("masked-file preparation of %s stopped: the server is shutting down", target)
            break
        except Exception:  # a cache: the next call builds the file itself
            log.warning("could not prepare the masked files of %s", target, exc_info=True)
    return done


def prepare(engine: Engine, settings: Settings, target: Target) -> list[Path]:
    """Build the masked files of ``target`` now (in the caller's thread); their paths."""
    if not settings.data_dir.is_dir():
        return []
    with _session(engine) as s:  # read what to do, then let go of the database
        work = _work(s, target) if target.grants else []
    for grant, resource, version in work:  # the one slow read of the version, outside any session
        with _session(engine) as s:
            reported = masking_state(s, resource, version, grant.masking_profile)[1]
        if not reported:  # else the saved scan report is used, no sample scan
            scanned_findings(settings, resource, version,
                             TableSource(name="granted", files=version_files(settings, version)))
    paths = []
    for grant, resource, version in work:
        if _stopping.is_set():
            break
        with _session(engine) as s:  # compiling the view reads the policy and the keys
            view = view_of(session=s, settings=settings, grant=grant, resource=resource, version=version)
            key = declared_key(s, resource)
            before = previous(s, resource.id, version) if key else None
            prev = view_of(session=s, settings=settings, grant=grant, resource=resource,
                           version=before) if before is not None else None
        keep = [masked_file(settings, view)]
        if prev is not None and key:  # the change data feed of the new version (Delta Sharing)
            keep += _changes(settings, prev, view, key)
        _tidy(keep)
        paths += keep
    if target.resource_id is not None and not _stopping.is_set():
        paths += prepare_recipients(engine, settings, target.resource_id)
    return paths


def prepare_recipients(engine: Engine, settings: Settings, resource_id: int) -> list[Path]:
    """Serve once each table on ``resource_id`` of the live recipients the plugins name (their
    masked files are written now); a recipient that no longer delivers is skipped."""
    paths = []
    with _session(engine) as s:
        for recipients in plugins_of(s).hook.sharing_recipients_for_resource(
                session=s, settings=settings, resource_id=resource_id):
            for r in recipients:
                try:
                    for share in r.shares():
                        for t in r.tables(share["name"]):
                            if t.resource.id == resource_id and not _stopping.is_set():
                                paths.append(r.serve(t, None).path)
                except (PermissionDenied, NotFound, InvalidInput) as exc:
                    log.info("nothing prepared for a recipient of entry %s: %s", resource_id, exc.code)
    return paths


def _changes(settings: Settings, prev: GrantView, cur: GrantView, key: tuple[str, ...]) -> list[Path]:
    """The file of what changed in ``cur``, built while the version before's masked file is still
    there; none when the grant does not deliver the key or the columns changed (a call says why)."""
    try:
        return [change_file(settings, prev, cur, key)]
    except BadRequest as exc:
        log.info("no change file for grant %s version %s: %s", cur.grant.id, cur.version.version, exc.code)
        return []


def _tidy(keep: list[Path]) -> None:
    """Remove the grant's files superseded by ``keep`` (older versions, older terms, their
    change and head files) once any signed URL to them has expired, and temp files a crashed
    writer left; a consumer asking for an older version again gets it rebuilt."""
    now = time.time()
    for f in keep[0].parent.iterdir():
        try:
            age = now - f.stat().st_mtime
            if (f.suffix == ".parquet" and f not in keep and age > 2 * URL_TTL_S) or \
                    (f.suffix == ".tmp" and age > 3600):
                f.unlink()
        except OSError:
            continue


def _session(engine: Engine) -> Session:
    """A short read-only session that gives way: on PostgreSQL it stops waiting for a lock after
    half a second (the job fails, logged) rather than hold up — or deadlock with — real work."""
    session = Session(engine)
    if engine.dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '500ms'"))
    return session


def _work(session: Session, target: Target) -> list[tuple[SharingGrant, CatalogResource, LakeVersion]]:
    now = utcnow()
    stmt = select(SharingGrant).where(SharingGrant.revoked_at.is_(None), SharingGrant.expires_at > now)
    if target.grant_id is not None:
        stmt = stmt.where(SharingGrant.id == target.grant_id)
    elif target.resource_id is not None:
        stmt = stmt.where(SharingGrant.resource_id == target.resource_id)
    else:
        return []
    out = []
    for grant in session.scalars(stmt.order_by(SharingGrant.id)):
        resource = session.get(CatalogResource, grant.resource_id)
        version = latest_version(session, grant.resource_id)
        if resource is None or resource.is_deleted or version is None:
            continue
        out.append((grant, resource, version))
    for obj in {id(o): o for row in out for o in row}.values():
        session.expunge(obj)
    return out
