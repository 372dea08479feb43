"""The README's run command as a person types it: ``.venv/bin/shudata demo --port P`` with the data
folder in ``SHUDATA_DATA_DIR``, a real process (no stand-in for ``serve``).

It loads the demo into an empty folder, answers ``/api/v1/health`` with 200 within 120 s, and
exits within 10 s of SIGTERM. One test: the load takes ~20–30 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

START_S = 120
STOP_S = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/api/v1/health", timeout=2).status_code
    except httpx.HTTPError:
        return None


@pytest.mark.slow
def test_shudata_demo_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("shudata")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUDATA_")}  # the README's clean shell
    env |= {"SHUDATA_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen([str(exe), "demo", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            status = _health(url)
            if status == 200:
                break
            time.sleep(0.5)
        output = (tmp_path / "demo.log").read_text(encoding="utf-8", errors="replace")
        assert status == 200, f"no healthy answer within {START_S} s (exit {proc.poll()}):\n{output[-3000:]}"
        assert (tmp_path / "data").is_dir()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_S} s after SIGTERM")
        assert code in (0, -signal.SIGTERM), code
        assert _health(url) is None  # nothing is left answering on the port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
