"""What a crashed server leaves behind, removed when the next one starts.

A server killed with SIGKILL (or by the OOM killer, or a power cut) in the middle of an
upload or an ingest leaves:

- a staging directory under ``lake/_staging`` (named after the dead process: removed at once);
- a version directory no database row names, when it died between publishing the files and
  committing the row (removed once older than ``VERSION_GRACE_S``: another process may be
  about to commit one it has just published);
- the temporary file of each upload in progress, under ``data_dir/tmp/uploads``.

Temporary uploads carry no owner, so which server may delete them is settled with a lock
file: every running server holds a shared ``flock`` on ``data_dir/tmp/serve.lock`` for its
lifetime (the kernel drops it when the process dies, however it dies). A server that starts
and gets the lock exclusively is the only one on this data folder, and removes every upload
older than its own start; one that finds another server running removes only uploads older
than ``UPLOAD_STALE_S``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.lake.service import cleanup as lake_cleanup

log = logging.getLogger("shudata.jobs.leftovers")

VERSION_GRACE_S = 600.0
UPLOAD_STALE_S = 24 * 3600.0


def uploads_dir(settings: Settings) -> Path:
    """Where uploads are streamed to before they are ingested."""
    return settings.data_dir / "tmp" / "uploads"


@dataclass
class Leftovers:
    """What the start-up cleanup removed."""

    lake_dirs: list[Path] = field(default_factory=list)
    uploads: list[Path] = field(default_factory=list)
    upload_bytes: int = 0
    sole_server: bool = True

    @property
    def count(self) -> int:
        return len(self.lake_dirs) + len(self.uploads)


class ServerLock:
    """The shared lock every server on one data folder holds while it runs."""

    def __init__(self, settings: Settings) -> None:
        path = settings.data_dir / "tmp" / "serve.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = path.open("ab")

    def exclusive(self) -> bool:
        """Try to take the lock alone (no other server running); never waits."""
        if self._fh is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("self._fh is unexpectedly None")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def share(self) -> None:
        """Hold the lock shared for as long as this server runs."""
        if self._fh is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("self._fh is unexpectedly None")
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the lock
            self._fh = None


def clean_at_start(*, session: Session, settings: Settings, lock: ServerLock,
                   started: float | None = None) -> Leftovers:
    """Remove a crashed predecessor's leftovers; leaves ``lock`` held shared.

    Args:
        session: the metadata store (which version directories are real).
        settings: the node's settings (its data folder).
        lock: this server's :class:`ServerLock`, not yet taken.
        started: when this server started (``time.time()``); uploads older are leftovers.
    """
    started = time.time() if started is None else started
    out = Leftovers(sole_server=lock.exclusive())
    try:
        out.lake_dirs = lake_cleanup(session=session, settings=settings, grace_s=VERSION_GRACE_S)
        cutoff = started if out.sole_server else started - UPLOAD_STALE_S
        out.uploads, out.upload_bytes = _remove_older(uploads_dir(settings), cutoff)
    finally:
        lock.share()
    if out.count:
        log.warning("removed the leftovers of a crash: %d lake directories, %d temporary uploads (%d bytes)",
                    len(out.lake_dirs), len(out.uploads), out.upload_bytes)
    return out


def _remove_older(folder: Path, cutoff: float) -> tuple[list[Path], int]:
    removed: list[Path] = []
    size = 0
    if not folder.is_dir():
        return removed, size
    for entry in os.scandir(folder):
        try:
            st = entry.stat(follow_symlinks=False)
            if not entry.is_file(follow_symlinks=False) or st.st_mtime >= cutoff:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        removed.append(Path(entry.path))
        size += st.st_size
    return removed, size
