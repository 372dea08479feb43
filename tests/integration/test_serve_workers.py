"""``shudata serve --workers N`` (issue #14, item 4): several processes on one port, and the state
that used to live in one process shared between them.

A real server with two workers (``SHUDATA_WORKERS=2``). The health check names the worker that
answered, so the tests pick a connection held by each worker:

- the portal's per-IP limit counts once for the node, not once per worker (no Redis: the
  counters live in a file in the data folder);
- a workbench run started through worker 0 is cancelled by a cancel request that reaches
  worker 1;
- SIGTERM under load stops parent and workers within 10 s; ``kill -9`` of the parent leaves no
  worker holding the port (a new server binds it at once).

The store plays no part in the rate limit, the cancel and kill -9 (files of the data folder,
processes, the port): those run on SQLite only; SIGTERM under load, whose traffic reads and writes
the store, on both.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shudata.db.runtime import Runtime
from support.load import ServeProcess, Store, build_store, drive, free_port, make_people

WORKERS = "2"
START_S = 180  # a start takes over a minute on a machine loaded ~15


def _by_worker(url: str, want: int = 2, within_s: float = START_S) -> dict[int, httpx.Client]:
    """One keep-alive connection held by each of ``want`` workers (asked through the health check;
    the last worker may still be starting when the first answers)."""
    found: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if len(spare) > 20:  # the other worker is not accepting yet
            for c in spare:
                c.close()
            spare = []
            time.sleep(0.5)
        client = httpx.Client(base_url=url, timeout=60)
        worker = client.get("/api/v1/health").json()["worker"]
        if worker in found:
            spare.append(client)  # keep it open: the next connection may go to the other worker
        else:
            found[worker] = client
        if len(found) == want:
            break
    for c in spare:
        c.close()
    assert len(found) == want, f"connections reached workers {sorted(found)} only"
    return found


def _seconds_left_in_minute() -> float:
    now = time.time()
    return 60 - now % 60


@pytest.mark.slow
@pytest.mark.sqlite_only  # the counters live in a file of the data folder, not in the store
def test_portal_rate_limit_counts_once_across_workers(rt: Runtime, tmp_path: Path) -> None:
    limit = 12
    server = ServeProcess(rt, free_port(), tmp_path / "serve.log", SHUDATA_WORKERS=WORKERS,
                          SHUDATA_PORTAL_RATE_IP_PER_MIN=str(limit), SHUDATA_PORTAL_RATE_KEY_PER_MIN="0").start(START_S)
    try:
        clients = _by_worker(server.url)
        if _seconds_left_in_minute() < 20:  # all of it in one fixed window
            time.sleep(_seconds_left_in_minute() + 0.5)
        answers: list[httpx.Response] = []
        for i in range(limit):  # alternately through each worker: per-worker counters would allow 2 × limit
            for client in clients.values():
                answers.append(client.get("/api/3/action/package_search", params={"q": f"人口{i}"}))
        for c in clients.values():
            c.close()
    finally:
        server.terminate()
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == limit, statuses
    assert statuses.count(429) == limit, statuses
    remaining = sorted(int(r.headers["x-ratelimit-remaining"]) for r in answers if r.status_code == 200)
    assert remaining == list(range(limit)), remaining  # one counter: every value once


@pytest.mark.slow
@pytest.mark.sqlite_only  # a cancel reaches the other worker through a file of the data folder
def test_a_cancel_reaching_another_worker_stops_the_run(rt: Runtime, tmp_path: Path, make_department: Any,
                                                        make_user: Any) -> None:
    store = build_store(rt, *make_people(rt, make_department, make_user))
    server = ServeProcess(rt, free_port(), tmp_path / "serve.log", SHUDATA_WORKERS=WORKERS,
                          SHUDATA_QUERY_TIMEOUT_S="60").start(START_S)
    headers = {"Authorization": f"Bearer {store.steward_token}"}
    try:
        clients = _by_worker(server.url)
        answer: dict[str, Any] = {}

        def slow() -> None:
            t0 = time.monotonic()
            answer["r"] = clients[0].post("/api/v1/query/runs", headers=headers, json={
                "sql": "SELECT count(*) FROM range(100000000000) a", "run_id": "run-across-0001"})
            answer["s"] = time.monotonic() - t0

        runner = threading.Thread(target=slow)
        runner.start()
        other = clients[1]
        deadline = time.monotonic() + 20
        r = other.post("/api/v1/query/runs/run-across-0001/cancel", headers=headers)
        while r.status_code == 404 and time.monotonic() < deadline:  # not registered yet
            time.sleep(0.2)
            r = other.post("/api/v1/query/runs/run-across-0001/cancel", headers=headers)
        assert other.get("/api/v1/health").json()["worker"] == 1
        assert r.status_code == 200 and r.json()["cancelled"] is True, r.text
        runner.join(30)
        assert answer["r"].status_code == 409, answer["r"].text
        assert answer["r"].json()["error"]["code"] == "query_cancelled"
        assert answer["s"] < 30
        for c in clients.values():
            c.close()
    finally:
        server.terminate()
    assert "Traceback" not in server.output(), server.output()[-3000:]


def _store_with_people(rt: Runtime, make_department: Any, make_user: Any) -> Store:
    return build_store(rt, *make_people(rt, make_department, make_user))


@pytest.mark.slow
def test_sigterm_under_load_stops_all_workers_within_10_s(rt: Runtime, tmp_path: Path, make_department: Any,
                                                          make_user: Any) -> None:
    store = _store_with_people(rt, make_department, make_user)
    server = ServeProcess(rt, free_port(), tmp_path / "serve.log", SHUDATA_WORKERS=WORKERS).start(START_S)
    assert server.proc is not None
    for c in _by_worker(server.url).values():  # both workers are serving
        c.close()
    workers = _children(server.proc.pid)  # the workers and multiprocessing's resource tracker
    assert len(workers) >= 3, workers
    try:
        tally = drive(server.url, store, clients=32, seconds=6)
        assert tally.errors == [], sorted(set(e[:160] for e in tally.errors))[:10]
        stop = threading.Event()
        under_load = threading.Thread(target=drive, args=(server.url, store),
                                      kwargs={"clients": 32, "seconds": 60, "stop": stop, "seed": 3})
        under_load.start()
        threading.Event().wait(2)
        theirs = [p for w in workers for p in _children(w)]  # a worker's own children (an upload's pool)
        code, took = server.terminate(timeout=30)
        stop.set()
        under_load.join(60)
    finally:
        if server.proc.poll() is None:
            server.kill()
    assert took <= 10, f"took {took:.1f} s to stop"
    assert code == 0, (code, server.output()[-2000:])
    # The parent reaps every child before it exits: none may be left the moment it has gone (no
    # grace here). A worker's own children get SIGKILL from the kernel when it dies (PDEATHSIG).
    left = [p for p in workers if _alive(p)]
    assert not left, [(p, _describe(p)) for p in left]
    deadline = time.monotonic() + 3  # the kernel's SIGKILL takes effect once they are scheduled
    while [p for p in theirs if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in theirs if _alive(p)], [(p, _describe(p)) for p in theirs if _alive(p)]
    assert "restarted" not in server.output(), server.output()[-3000:]  # no replacement while stopping
    assert "Traceback" not in server.output(), server.output()[-3000:]


@pytest.mark.slow
@pytest.mark.sqlite_only  # processes and the port; both stores' workers: the SIGTERM test
def test_kill_9_of_the_parent_leaves_no_worker_on_the_port(rt: Runtime, tmp_path: Path) -> None:
    port = free_port()
    server = ServeProcess(rt, port, tmp_path / "serve.log", SHUDATA_WORKERS=WORKERS).start(START_S)
    assert server.proc is not None
    _by_worker(server.url)  # both workers are serving
    workers = _children(server.proc.pid)
    assert len(workers) >= 2
    server.kill()  # SIGKILL of the parent
    deadline = time.monotonic() + 5
    while [p for p in workers if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], "a worker outlived its parent"
    with socket.socket() as s:  # the port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    again = ServeProcess(rt, port, tmp_path / "serve2.log", SHUDATA_WORKERS=WORKERS).start(START_S)
    try:
        assert httpx.get(f"{again.url}/api/v1/health", timeout=10).status_code == 200
    finally:
        again.terminate()


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, ValueError, IndexError):
                continue
    return out


def _describe(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "?"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie holds no socket

