"""The shutdown watchdog of ``shudata serve``: a thread that will not stop cannot hold the
process past the deadline (exit code 70, and a message naming the thread)."""

from __future__ import annotations

import subprocess
import sys
import time

from shudata.cli.server import EXIT_FORCED, config_for
from shudata.core.config import Settings

STUCK = """
import threading, time
from shudata.cli.server import _force_exit_after
threading.Thread(target=time.sleep, args=(600,), name="stuck-worker").start()
_force_exit_after(0.5)
"""


def test_a_stuck_thread_is_cut_off_at_the_deadline() -> None:
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-c", STUCK], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_FORCED
    assert time.monotonic() - t0 < 30
    assert "stuck-worker" in done.stderr and "强制结束" in done.stderr


def test_requests_in_progress_get_60_percent_of_the_shutdown_time() -> None:
    def grace(total: float) -> int | None:
        config = config_for(object(), Settings(env="test", shutdown_timeout_s=total), "127.0.0.1", 1)
        return config.timeout_graceful_shutdown

    assert (grace(8), grace(1)) == (4, 1)
