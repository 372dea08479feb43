"""Deleting the prepared delivery files of grants and entitlements that no longer deliver.

A grant's masked Parquet, Delta Sharing change and head files live in ``data_dir/delivery/g<id>/``,
its REST download files and their ``.json`` metadata in ``data_dir/delivery/downloads/g<id>/``
(:mod:`shudata.sharing.files`); a market entitlement's in ``data_dir/market/delivery/e<id>/``.
Once a grant is revoked, expired or deleted, its files stop being served at once (every call and
signed URL re-checks the grant) and :func:`run` deletes its folders; the market names its ended
entitlements' folders through the ``sharing_ended_deliveries`` hook (sharing never imports the market).

Only whole folders of ended owners are deleted, each a direct child of a delivery root under
``data_dir`` and never the lake: a download's metadata may name a lake Parquet file (a parquet
download without masking is the version's file itself) — the metadata is deleted, never the file it
names; a symbolic link is removed as a link, never followed. A live grant's folders are not touched.

``serve`` runs it at start and then every ``sharing_cleanup_s`` seconds (:func:`start`), once per
node: under the node's preparation lock (:func:`shudata.sharing.prepare.node_lock`), a run skips
when another worker of the node ran within half the interval (``data_dir/run/cleanup.stamp``).
``shudata sharing cleanup`` runs it now. A run that removed something (any CLI run) is audited.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Unavailable
from shudata.core.plugins import plugins_of
from shudata.core.types import Actor
from shudata.sharing import prepare
from shudata.sharing.models import SharingGrant

log = logging.getLogger("shudata.sharing.cleanup")

Transaction = Callable[[], AbstractContextManager[Session]]
_GRANT_DIR = re.compile(r"^g(\d{1,18})$")
_OWNER_DIR = re.compile(r"^[a-z](\d{1,18})$")  # one owner's folder: g<grant>, e<entitlement>


@dataclass
class Removed:
    """What a run deleted."""

    grants: list[int] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    skipped: bool = False  # another worker of the node ran just before

    @property
    def entitlements(self) -> int:
        return sum(1 for f in self.folders if f.name.startswith("e"))


def grant_roots(settings: Settings) -> tuple[Path, Path]:
    """The folders holding one ``g<id>`` folder per grant."""
    root = settings.data_dir / "delivery"
    return root, root / "downloads"


def ended_grant_folders(session: Session, settings: Settings) -> list[tuple[Path, Path]]:
    """``(root, folder)`` of every grant folder whose grant is revoked, expired or deleted."""
    found: dict[int, list[tuple[Path, Path]]] = {}
    for root in grant_roots(settings):
        for entry in _subdirs(root):
            m = _GRANT_DIR.match(entry.name)
            if m:
                found.setdefault(int(m.group(1)), []).append((root, entry))
    ids = sorted(found)
    live: set[int] = set()
    now = utcnow()
    for i in range(0, len(ids), 500):
        live.update(session.scalars(select(SharingGrant.id).where(
            SharingGrant.id.in_(ids[i:i + 500]), SharingGrant.revoked_at.is_(None), SharingGrant.expires_at > now)))
    return [pair for gid in ids if gid not in live for pair in found[gid]]


def _subdirs(root: Path) -> list[Path]:
    try:
        return sorted(e for e in root.iterdir() if e.is_dir() and not e.is_symlink())
    except OSError:
        return []


def run(transaction: Transaction, settings: Settings, *, trigger: str = "cli") -> Removed:
    """Delete the folders of ended grants and entitlements now; audited when something was removed
    (always for ``trigger="cli"``)."""
    out = Removed()
    with transaction() as s:
        todo = ended_grant_folders(s, settings)
        for pairs in plugins_of(s).hook.sharing_ended_deliveries(session=s, settings=settings):
            todo += [(Path(root), Path(folder)) for root, folder in pairs]
    for root, folder in todo:
        if not _safe(settings, root, folder):
            log.warning("not deleting %s: not a delivery folder under %s", folder, settings.data_dir)
            continue
        files, size = _remove(folder)
        out.files += files
        out.bytes += size
        out.folders.append(folder)
        m = _GRANT_DIR.match(folder.name)
        if m and int(m.group(1)) not in out.grants:
            out.grants.append(int(m.group(1)))
    if out.folders or trigger == "cli":
        with transaction() as s:
            record(s, Actor.system(), events.SharingFilesCleanup(details={
                "trigger": trigger, "grants": len(out.grants), "entitlements": out.entitlements,
                "folders": len(out.folders), "files": out.files, "bytes": out.bytes}))
    return out


def _safe(settings: Settings, root: Path, folder: Path) -> bool:
    """``folder`` is one owner's real directory (``g<id>``, ``e<id>``) directly in ``root``, ``root`` is
    under the data folder and ``folder`` neither holds nor is held by the lake."""
    try:
        data = settings.data_dir.resolve()
        lake = settings.lake_dir.resolve()
        r = root.resolve()
    except OSError:
        return False
    if folder.parent != root or not _OWNER_DIR.match(folder.name) or folder.is_symlink() or not folder.is_dir():
        return False
    if r == data or not r.is_relative_to(data):
        return False
    f = folder.resolve()
    return not (f.is_relative_to(lake) or lake.is_relative_to(f))


def _remove(folder: Path) -> tuple[int, int]:
    """Delete ``folder`` and what it holds without following links; the files and bytes removed."""
    files = size = 0
    for entry in _walk(folder):
        try:
            st = entry.lstat()
            if entry.is_dir() and not entry.is_symlink():
                entry.rmdir()
                continue
            entry.unlink()
            files += 1
            size += st.st_size
        except OSError:  # gone meanwhile, or being written: the next run takes it
            continue
    if folder.exists():
        log.info("%s not entirely removed (files written meanwhile)", folder)
    return files, size


def _walk(folder: Path) -> Iterator[Path]:
    """Everything under ``folder``, children before their directory, links not followed."""
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False, followlinks=False):
        base = Path(dirpath)
        for name in filenames:
            yield base / name
        for name in dirnames:
            p = base / name
            if p.is_symlink():
                yield p
        yield base


_STAMP = "cleanup.stamp"


def run_once_per_node(transaction: Transaction, settings: Settings) -> Removed:
    """:func:`run` under the node's preparation lock, unless another worker of this node ran within
    half the interval."""
    stamp = settings.data_dir / "run" / _STAMP
    with prepare.node_lock(settings):
        try:
            if time.time() - stamp.stat().st_mtime < settings.sharing_cleanup_s / 2:
                return Removed(skipped=True)
        except OSError:
            pass
        out = run(transaction, settings, trigger="serve")
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
        return out


_running: list[threading.Event] = []  # the stop signal of each loop started in this process


def start(transaction: Transaction, settings: Settings) -> None:
    """Run the cleanup now and then every ``sharing_cleanup_s`` seconds in a background thread (``serve``);
    a loop started before in this process is stopped."""
    stop()
    done = threading.Event()
    _running.append(done)
    threading.Thread(target=_loop, args=(transaction, settings, done), name="shudata-cleanup", daemon=True).start()


def stop() -> None:
    """Stop the background cleanup (the server is shutting down); a run in progress finishes its folder."""
    while _running:
        _running.pop().set()


def _loop(transaction: Transaction, settings: Settings, stopped: threading.Event) -> None:
    while not stopped.is_set():
        try:
            done = run_once_per_node(transaction, settings)
            if done.folders:
                log.info("cleanup: %d folders, %d files, %d bytes", len(done.folders), done.files, done.bytes)
        except Unavailable:  # shutting down while waiting for the lock
            return
        except Exception:  # files only: the next run tries again
            log.warning("delivery file cleanup failed", exc_info=True)
        stopped.wait(settings.sharing_cleanup_s)
