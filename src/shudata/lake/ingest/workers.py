"""The process pool of a parallel ingest, whose workers die with the process that forked them.

The chunk workers are forked (they inherit the warmed-up pyarrow kernels and the parsed
column specs for free), and a forked child inherits every open descriptor of its parent —
in ``shudata serve`` that includes the listening socket. If the server were killed with
SIGKILL mid-ingest, the workers would live on (each holds the other end of the pool's
pipes, so none ever sees end-of-file), keep the port bound, and the restart would fail
with "address already in use".

So each worker, first thing:

- asks the kernel to SIGKILL it when its parent dies (``prctl(PR_SET_PDEATHSIG)``, Linux),
  and exits at once if the parent is already gone (died before the request took effect);
- closes its copies of listening sockets and of the server's lock file, which it has no use
  for: the port and the lock belong to the parent alone, even while a worker lingers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import socket
import stat
import sys
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
LOCK_NAME = "serve.lock"


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` forked processes that end when this process ends."""
    ctx = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=detach, initargs=(os.getpid(),))


def detach(parent: int) -> None:
    """Run in each new worker: die with ``parent``, let go of its listening sockets."""
    die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    close_inherited_listeners()


def die_with_parent() -> bool:
    """Have the kernel SIGKILL this process when its parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def close_inherited_listeners() -> list[int]:
    """Close this process's listening sockets and the server lock file; the descriptors closed."""
    closed = []
    for fd in _open_fds():
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISSOCK(mode):
            sock = socket.socket(fileno=fd)
            try:
                listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
            except OSError:
                listening = False
            if listening:
                sock.close()
                closed.append(fd)
            else:
                sock.detach()  # not ours to close
        elif stat.S_ISREG(mode) and _is_lock_file(fd):
            os.close(fd)
            closed.append(fd)
    return closed


def _open_fds() -> list[int]:
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return sorted(int(n) for n in os.listdir(folder) if n.isdigit() and int(n) > 2)
        except OSError:
            continue
    return []


def _is_lock_file(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").endswith(os.sep + LOCK_NAME)
    except OSError:
        return False
