"""Forked ingest workers die with their parent and do not keep its listening socket
(issue #14, item 7; the end-to-end case is tests/integration/test_ingest_kill.py)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import sys

import pytest

from shudata.lake.ingest.workers import worker_pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux")


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _death_signal(_: int) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    sig = ctypes.c_int(0)
    libc.prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
    return sig.value


def test_workers_close_the_listening_socket_and_keep_the_others() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    other = socket.socket()  # not listening: left alone
    try:
        with worker_pool(1) as pool:
            assert not pool.submit(_fd_open, listener.fileno()).result(30)
            assert pool.submit(_fd_open, other.fileno()).result(30)
        assert _fd_open(listener.fileno())  # the parent's copy is untouched
    finally:
        listener.close()
        other.close()


def test_workers_ask_to_be_killed_when_the_parent_dies() -> None:
    with worker_pool(1) as pool:
        assert pool.submit(_death_signal, 0).result(30) == signal.SIGKILL
