"""Running workbench queries, by owner and run id, so that their owner can cancel them.

The workbench gives each run an id; while the run's statements execute, its
:class:`~shudata.query.engines.base.Cancel` handle is registered here under ``(owner, run id)``.
A cancel request from the same owner finds the handle and stops the statement on the server
(DuckDB ``interrupt()``), not only the browser's wait. Another user's run id finds nothing.

The handles live in the process running the query. When ``serve`` runs several worker
processes, a cancel request may reach another worker: :meth:`RunRegistry.share` (called by the
served application) makes each run leave a marker file ``<hash>.run`` (holding its process id)
in a folder every worker of the node sees; a cancel that finds no local handle but a live
marker writes ``<hash>.cancel`` next to it, and the owning worker, which looks for those every
0.1 s while it has runs in progress, cancels the run. The hash covers owner and run id, so
another user's run id still finds nothing.

>>> reg = RunRegistry()
>>> with reg.running("alice", "run-0001") as handle:
...     reg.cancel("bob", "run-0001"), reg.cancel("alice", "run-0001"), handle.cancelled
(False, True, True)
>>> reg.cancel("alice", "run-0001")
False
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shudata.query.engines.base import Cancel


class RunRegistry:
    """The cancel handles of the runs in progress."""

    POLL_S = 0.1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[tuple[str, str], Cancel] = {}
        self._dir: Path | None = None
        self._watching = False

    def share(self, directory: Path) -> None:
        """Let the processes sharing ``directory`` cancel each other's runs (markers removed
        there by processes that no longer exist are cleared)."""
        directory.mkdir(parents=True, exist_ok=True)
        for marker in directory.glob("*.run"):
            if not _alive(_pid_in(marker)):
                for f in (marker, marker.with_suffix(".cancel")):
                    f.unlink(missing_ok=True)
        self._dir = directory

    @staticmethod
    def _name(owner: str, run_id: str) -> str:
        return hashlib.sha256(f"{owner}\0{run_id}".encode()).hexdigest()[:40]

    @contextmanager
    def running(self, owner: str, run_id: str | None) -> Iterator[Cancel]:
        """A handle registered under ``(owner, run_id)`` for the duration of the block (not
        registered when ``run_id`` is ``None``)."""
        handle = Cancel()
        key = (owner, run_id) if run_id else None
        shared = self._dir
        marker = shared / f"{self._name(owner, run_id)}.run" if shared is not None and run_id else None
        if key is not None:
            with self._lock:
                self._runs[key] = handle
                if marker is not None:
                    marker.with_suffix(".cancel").unlink(missing_ok=True)
                    marker.write_text(str(os.getpid()))
                    if not self._watching:
                        self._watching = True
                        threading.Thread(target=self._watch, name="shudata-run-cancels", daemon=True).start()
        try:
            yield handle
        finally:
            if key is not None:
                with self._lock:
                    if self._runs.get(key) is handle:
                        del self._runs[key]
                        if marker is not None:
                            with contextlib.suppress(OSError):
                                marker.unlink(missing_ok=True)
                                marker.with_suffix(".cancel").unlink(missing_ok=True)

    def _watch(self) -> None:
        """Cancel the local runs another process asked to cancel; ends when none is running."""
        while True:
            with self._lock:
                shared = self._dir
                if not self._runs or shared is None:
                    self._watching = False
                    return
                runs = list(self._runs.items())
            for (owner, run_id), handle in runs:
                if not handle.cancelled and (shared / f"{self._name(owner, run_id)}.cancel").exists():
                    handle.cancel()
            threading.Event().wait(self.POLL_S)

    def cancel(self, owner: str, run_id: str) -> bool:
        """Cancel the owner's run ``run_id``; ``False`` when it is not (or no longer) running."""
        with self._lock:
            handle = self._runs.get((owner, run_id))
        if handle is not None:
            handle.cancel()
            return True
        marker = self._marker(owner, run_id)
        if marker is None:
            return False
        try:
            marker.with_suffix(".cancel").write_text(str(os.getpid()))
        except OSError:
            return False
        return True

    def _marker(self, owner: str, run_id: str) -> Path | None:
        """The marker of the run when another live process of the node is running it."""
        if self._dir is None:
            return None
        marker = self._dir / f"{self._name(owner, run_id)}.run"
        return marker if _alive(_pid_in(marker)) else None

    def is_running(self, owner: str, run_id: str) -> bool:
        with self._lock:
            if (owner, run_id) in self._runs:
                return True
        return self._marker(owner, run_id) is not None


def _pid_in(marker: Path) -> int:
    try:
        return int(marker.read_text() or 0)
    except (OSError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


RUNS = RunRegistry()
"""The process's registry (see the module docstring)."""
