"""Running the web server for ``shudata serve``: start-up cleanup, and a bounded shutdown.

On SIGTERM (or Ctrl+C) the server stops accepting connections, lets the requests in
progress finish for up to 60 % of ``SHUDATA_SHUTDOWN_TIMEOUT_S`` (uvicorn's graceful
shutdown), then cancels them; the application's shutdown interrupts the DuckDB queries
still running and stops the background preparation of masked files. Should anything
still hold the process when ``SHUDATA_SHUTDOWN_TIMEOUT_S`` has passed since the signal,
a watchdog ends it (exit code 70), so a supervisor's stop never waits on a stuck thread.

With ``SHUDATA_WORKERS`` / ``--workers N`` above 1 this process binds the port and starts N
worker processes (``spawn``: each builds its own runtime and application) that accept on the
same socket. It passes SIGTERM/SIGINT on to them and waits for them for at most
``SHUDATA_SHUTDOWN_TIMEOUT_S`` (then SIGKILL); a worker that dies on its own is replaced, but
never once the shutdown has begun. It reaps every child (the workers and ``multiprocessing``'s
resource tracker) before it exits, so none is left when it has gone. Each
worker asks the kernel to end it when this process dies (``PR_SET_PDEATHSIG``), so a
``kill -9`` of the parent leaves no worker holding the port.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.process import BaseProcess
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


# -- several worker processes -------------------------------------------------------------------

RESTART_PAUSE_S = 1.0
MAX_RESTARTS_PER_MIN = 5


def bind(host: str, port: int) -> socket.socket:
    """The listening socket the workers share (``SO_REUSEADDR``, as uvicorn binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_workers(target: Callable[[socket.socket, int, int], None], settings: Settings, host: str, port: int,
                workers: int) -> int:
    """Serve with ``workers`` processes each running ``target(sock, parent_pid, index)``; returns
    when all have stopped after SIGTERM/SIGINT (an exit code: 0, or 70 if some had to be killed), or
    when workers keep dying (more than ``MAX_RESTARTS_PER_MIN`` in a minute: the last one's code)."""
    sock = bind(host, port)
    ctx = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    procs: dict[int, BaseProcess] = {}

    def start(i: int) -> None:
        p = ctx.Process(target=target, args=(sock, os.getpid(), i), name=f"shudata-worker-{i}", daemon=False)
        p.start()
        procs[i] = p

    signalled = [0.0]
    told: set[int] = set()  # the workers SIGTERM was passed on to (once each: a second one skips their grace)

    def pass_on() -> None:
        for p in list(procs.values()):
            if p.pid is not None and p.pid not in told and p.is_alive():
                told.add(p.pid)
                os.kill(p.pid, signal.SIGTERM)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        if not stopping.is_set():
            signalled[0] = time.monotonic()
            stopping.set()
            pass_on()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for i in range(workers):
            start(i)
        restarts: list[float] = []
        failed = 0
        while not stopping.wait(0.5):  # replace a worker that died on its own
            for i, p in list(procs.items()):
                if not p.is_alive() and not stopping.is_set():
                    now = time.monotonic()
                    restarts = [t for t in restarts if now - t < 60] + [now]
                    if len(restarts) > MAX_RESTARTS_PER_MIN:  # it cannot start (say, the store is unreachable)
                        failed = p.exitcode if p.exitcode and p.exitcode > 0 else 1
                        print(f"工作进程一分钟内退出 {len(restarts)} 次（最后退出码 {p.exitcode}），服务停止 / workers "
                              f"exited {len(restarts)} times in a minute (last code {p.exitcode}); stopping",
                              file=sys.stderr, flush=True)
                        on_signal(signal.SIGTERM, None)
                        break
                    log.error("worker %d (pid %s) exited with %s; starting another", i, p.pid, p.exitcode)
                    print(f"工作进程 {i} 意外退出（{p.exitcode}），已重新启动 / worker {i} exited ({p.exitcode}); "
                          "restarted", file=sys.stderr, flush=True)
                    time.sleep(RESTART_PAUSE_S)
                    if stopping.is_set():  # the signal came during the pause: no replacement once stopping
                        break
                    start(i)
        pass_on()  # a worker whose start the signal interrupted (not yet in procs when it was passed on)
        t0 = signalled[0] or time.monotonic()
        deadline = t0 + settings.shutdown_timeout_s + 0.5
        code = failed
        for p in procs.values():
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
                code = EXIT_FORCED
            elif p.exitcode == EXIT_FORCED:
                code = EXIT_FORCED
        _stop_resource_tracker(max(0.0, deadline - time.monotonic()) + 0.5)
        print(f"已停止 {len(procs)} 个工作进程（{time.monotonic() - t0:.1f} 秒）/ {len(procs)} workers stopped in "
              f"{time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
        return code
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        sock.close()


def _stop_resource_tracker(within_s: float) -> None:
    """End and reap the ``multiprocessing`` resource tracker that ``spawn`` started as this
    process's child: it ignores SIGTERM and only leaves once it reads end-of-file, so without this
    it outlives the parent's exit (``os._exit``) by however long a busy machine takes to schedule it."""
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    pid, fd = getattr(tracker, "_pid", None), getattr(tracker, "_fd", None)
    if tracker is None or not isinstance(pid, int) or not isinstance(fd, int):
        return
    os.close(fd)  # end-of-file: the tracker cleans up what the workers left registered and exits
    tracker._fd = None
    tracker._pid = None
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def serve_socket(app: Any, settings: Settings, sock: socket.socket) -> None:
    """Run ``app`` on an already bound socket until SIGTERM (in a worker process)."""
    host, port = sock.getsockname()[:2]
    server = BoundedServer(config_for(app, settings, host, port), settings.shutdown_timeout_s)
    server.run(sockets=[sock])
