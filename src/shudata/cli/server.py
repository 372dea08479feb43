"""Running the web server for ``shudata serve``: start-up cleanup, and a bounded shutdown.

On SIGTERM (or Ctrl+C) the server stops accepting connections, lets the requests in
progress finish for up to 60 % of ``SHUDATA_SHUTDOWN_TIMEOUT_S`` (uvicorn's graceful
shutdown), then cancels them; the application's shutdown interrupts the DuckDB queries
still running and stops the background preparation of masked files. Should anything
still hold the process when ``SHUDATA_SHUTDOWN_TIMEOUT_S`` has passed since the signal,
a watchdog ends it (exit code 70), so a supervisor's stop never waits on a stuck thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from types import FrameType
from typing import Any

import uvicorn

from shudata.core.config import Settings

log = logging.getLogger("shudata.serve")

EXIT_FORCED = 70  # EX_SOFTWARE: the shutdown did not finish in time


class BoundedServer(uvicorn.Server):
    """A uvicorn server whose shutdown takes at most ``hard_timeout_s`` after the first signal."""

    def __init__(self, config: uvicorn.Config, hard_timeout_s: float) -> None:
        super().__init__(config)
        self.hard_timeout_s = hard_timeout_s
        self._watchdog: threading.Thread | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=_force_exit_after, args=(self.hard_timeout_s,),
                                              name="shudata-shutdown-watchdog", daemon=True)
            self._watchdog.start()
        super().handle_exit(sig, frame)


def _force_exit_after(seconds: float) -> None:
    time.sleep(seconds)
    names = sorted(t.name for t in threading.enumerate() if t.is_alive() and not t.daemon
                   and t is not threading.main_thread())
    msg = (f"停止超时：{seconds:g} 秒内未能正常退出，强制结束（仍在运行的线程：{', '.join(names) or '无'}）"
           f" / Shutdown took longer than {seconds:g} s; forcing exit (threads still running: {names})")
    log.error(msg)
    print(msg, file=sys.stderr, flush=True)
    os._exit(EXIT_FORCED)


def config_for(app: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The uvicorn configuration: graceful shutdown bounded by the settings."""
    return uvicorn.Config(app, host=host, port=port, log_level="warning",
                          timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout_s * 0.6)))


def run(app: Any, settings: Settings, host: str, port: int) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; the process exits within ``settings.shutdown_timeout_s``."""
    server = BoundedServer(config_for(app, settings, host, port), settings.shutdown_timeout_s)
    server.run()
