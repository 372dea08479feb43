"""Compiled SM3 / HMAC-SM3 kernels over Arrow-style buffers (numba, when installed).

The kernel walks the (data, offsets) buffers of a whole column in machine code: one
call per batch, no Python per value. :mod:`shudata.security.crypto.sm3_vec` falls back to
its numpy lane implementation when numba is absent. Both are checked against
``hashlib``'s SM3 in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

try:  # optional accelerator
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    njit = None  # type: ignore[assignment]

M32 = 0xFFFFFFFF
_TJ = np.array([(((t << (j % 32)) | (t >> (32 - j % 32))) & M32) if j % 32 else t
                for j, t in enumerate([0x79CC4519] * 16 + [0x7A879D8A] * 48)], dtype=np.int64)


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & M32


def _compress(v: Any, blk: Any, w: Any, tj: Any) -> None:
    """One compression: ``v`` (8 int64 words) is updated in place from ``blk`` (64 bytes)."""
    for i in range(16):
        w[i] = (blk[4 * i] << 24) | (blk[4 * i + 1] << 16) | (blk[4 * i + 2] << 8) | blk[4 * i + 3]
    for j in range(16, 68):
        x = w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)
        w[j] = (x ^ _rotl(x, 15) ^ _rotl(x, 23)) ^ _rotl(w[j - 13], 7) ^ w[j - 6]
    a, b, c, d, e, f, g, h = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
    for j in range(64):
        a12 = _rotl(a, 12)
        ss1 = _rotl((a12 + e + tj[j]) & M32, 7)
        ss2 = ss1 ^ a12
        if j < 16:
            ff = a ^ b ^ c
            gg = e ^ f ^ g
        else:
            ff = (a & b) | (a & c) | (b & c)
            gg = (e & f) | ((~e & M32) & g)
        tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) & M32
        tt2 = (gg + h + ss1 + w[j]) & M32
        d = c
        c = _rotl(b, 9)
        b = a
        a = tt1
        h = g
        g = _rotl(f, 19)
        f = e
        e = tt2 ^ _rotl(tt2, 9) ^ _rotl(tt2, 17)
    v[0] ^= a
    v[1] ^= b
    v[2] ^= c
    v[3] ^= d
    v[4] ^= e
    v[5] ^= f
    v[6] ^= g
    v[7] ^= h


def _finish(v: Any, data: Any, start: int, length: int, prefix: int, blk: Any, w: Any, tj: Any) -> None:
    """Hash ``data[start:start+length]`` from state ``v`` (``prefix`` bytes already absorbed)."""
    pos = 0
    while length - pos >= 64:
        for i in range(64):
            blk[i] = data[start + pos + i]
        _compress(v, blk, w, tj)
        pos += 64
    rest = length - pos
    for i in range(64):
        blk[i] = 0
    for i in range(rest):
        blk[i] = data[start + pos + i]
    blk[rest] = 0x80
    if rest >= 56:
        _compress(v, blk, w, tj)
        for i in range(64):
            blk[i] = 0
    bits = (length + prefix) * 8
    for i in range(8):
        blk[63 - i] = (bits >> (8 * i)) & 0xFF
    _compress(v, blk, w, tj)


def _hmac_kernel(data: Any, offsets: Any, istate: Any, ostate: Any, out: Any, tj: Any) -> None:
    n = len(offsets) - 1
    v = np.zeros(8, dtype=np.int64)
    blk = np.zeros(64, dtype=np.int64)
    w = np.zeros(68, dtype=np.int64)
    inner = np.zeros(32, dtype=np.int64)
    for r in range(n):
        for i in range(8):
            v[i] = istate[i]
        _finish(v, data, offsets[r], offsets[r + 1] - offsets[r], 64, blk, w, tj)
        for i in range(8):
            for k in range(4):
                inner[4 * i + k] = (v[i] >> (24 - 8 * k)) & 0xFF
        for i in range(8):
            v[i] = ostate[i]
        _finish(v, inner, 0, 32, 64, blk, w, tj)
        for i in range(8):
            for k in range(4):
                out[r, 4 * i + k] = (v[i] >> (24 - 8 * k)) & 0xFF


def _hash_kernel(data: Any, offsets: Any, iv: Any, out: Any, tj: Any) -> None:
    n = len(offsets) - 1
    v = np.zeros(8, dtype=np.int64)
    blk = np.zeros(64, dtype=np.int64)
    w = np.zeros(68, dtype=np.int64)
    for r in range(n):
        for i in range(8):
            v[i] = iv[i]
        _finish(v, data, offsets[r], offsets[r + 1] - offsets[r], 0, blk, w, tj)
        for i in range(8):
            for k in range(4):
                out[r, 4 * i + k] = (v[i] >> (24 - 8 * k)) & 0xFF


def _compile() -> tuple[Callable[..., None], Callable[..., None]] | None:
    if njit is None:
        return None
    g = globals()
    for name in ("_rotl", "_compress", "_finish"):
        g[name] = njit(cache=True, inline="always" if name == "_rotl" else "never")(g[name])
    return njit(cache=True)(_hmac_kernel), njit(cache=True)(_hash_kernel)


KERNELS = _compile()
