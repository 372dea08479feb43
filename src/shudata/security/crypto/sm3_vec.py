"""Vectorised SM3 and HMAC-SM3 over many short messages at once (numpy).

Computing HMAC-SM3 one value at a time through OpenSSL costs a few microseconds per value
in Python. Keyed pseudonyms over whole columns need more: this module runs the SM3
compression function (GB/T 32905) on *arrays* of 32-bit words, one lane per message, so a
batch of 65,536 values costs the same few thousand numpy operations as a batch of one.
HMAC's key blocks are compressed once (``ipad``/``opad`` states) and reused for every value,
so a value shorter than 56 bytes costs two compressions.

Messages are grouped by their padded block count; every group runs in lock step.

>>> import hashlib
>>> msgs = [b"abc", b"", "张三".encode()]
>>> [bytes(d).hex() for d in sm3_many(msgs)] == [hashlib.new("sm3", m).hexdigest() for m in msgs]
True
>>> import hmac
>>> key = b"k" * 16
>>> bytes(hmac_sm3_many(key, [b"value"])[0]) == hmac.new(key, b"value", "sm3").digest()
True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shudata.security.crypto.sm3_jit import _TJ as TJ32
from shudata.security.crypto.sm3_jit import KERNEL

U32 = npt.NDArray[np.uint32]

IV = np.array([0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600,
               0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E], dtype=np.uint32)
_T = [0x79CC4519 if j < 16 else 0x7A879D8A for j in range(64)]
_TJ = [np.uint32(((t << (j % 32)) | (t >> (32 - j % 32))) & 0xFFFFFFFF) if j % 32 else np.uint32(t)
       for j, t in enumerate(_T)]
BLOCK = 64
use_jit = True  # tests switch this off to check the numpy lanes against the compiled kernel


def _rotl(x: U32, n: int) -> U32:
    n %= 32
    if n == 0:
        return x.copy()
    r: U32 = (x << np.uint32(n)) | (x >> np.uint32(32 - n))
    return r


def _p0(x: U32) -> U32:
    r: U32 = x ^ _rotl(x, 9) ^ _rotl(x, 17)
    return r


def _p1(x: U32) -> U32:
    r: U32 = x ^ _rotl(x, 15) ^ _rotl(x, 23)
    return r


def _expand(block: U32) -> list[U32]:
    """Message expansion: 16 words per lane -> W[0..67] (``block`` has shape (16, n))."""
    w: list[U32] = [block[i] for i in range(16)]
    for j in range(16, 68):
        w.append(_p1(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    return w


def compress(state: U32, block: U32) -> U32:
    """One SM3 compression per lane. ``state``: (8, n) words; ``block``: (16, n) words."""
    w = _expand(block)
    a, b, c, d, e, f, g, h = (state[i].copy() for i in range(8))
    for j in range(64):
        a12 = _rotl(a, 12)
        ss1 = _rotl(a12 + e + _TJ[j], 7)
        ss2 = ss1 ^ a12
        if j < 16:
            ff = a ^ b ^ c
            gg = e ^ f ^ g
        else:
            ff = (a & b) | (a & c) | (b & c)
            gg = (e & f) | (~e & g)
        tt1 = ff + d + ss2 + (w[j] ^ w[j + 4])
        tt2 = gg + h + ss1 + w[j]
        d, c, b, a = c, _rotl(b, 9), a, tt1
        h, g, f, e = g, _rotl(f, 19), e, _p0(tt2)
    out: U32 = np.stack([a, b, c, d, e, f, g, h]) ^ state
    return out


def _padded_blocks(data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], prefix_len: int,
                   nblocks: int) -> npt.NDArray[np.uint32]:
    """Pad each message (SM3/MD padding, total length counts ``prefix_len`` extra bytes).

    Returns words of shape (nblocks, 16, n) in big-endian order.
    """
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    mat = np.zeros((n, nblocks * BLOCK), dtype=np.uint8)
    total = int(lengths.sum())
    if total:
        rows = np.repeat(np.arange(n), lengths)
        cols = np.arange(total) - np.repeat(offsets[:-1] - offsets[0], lengths)
        mat[rows, cols] = data[offsets[0]:offsets[0] + total]
    mat[np.arange(n), lengths] = 0x80
    bits = ((lengths + prefix_len) * 8).astype(">u8").view(np.uint8).reshape(n, 8)
    mat[:, -8:] = bits
    words = mat.view(">u4").astype(np.uint32).reshape(n, nblocks, 16)
    return np.ascontiguousarray(words.transpose(1, 2, 0))


def _digest_groups(init: U32, data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64],
                   prefix_len: int) -> npt.NDArray[np.uint32]:
    """Finish hashing every message from the state ``init`` (8 words); returns (n, 8) words."""
    lengths = np.diff(offsets)
    n = len(lengths)
    nblocks = (lengths + 9 + BLOCK - 1) // BLOCK
    out = np.empty((n, 8), dtype=np.uint32)
    for nb in np.unique(nblocks):
        idx = np.nonzero(nblocks == nb)[0]
        sub_off = np.concatenate([[0], np.cumsum(lengths[idx])]).astype(np.int64)
        starts, ends = offsets[idx], offsets[idx + 1]
        sub_data = _gather(data, starts, ends, int(sub_off[-1]))
        blocks = _padded_blocks(sub_data, sub_off, prefix_len, int(nb))
        state = np.repeat(init.reshape(8, 1), len(idx), axis=1)
        for k in range(int(nb)):
            state = compress(state, blocks[k])
        out[idx] = state.T
    return out


def _gather(data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64],
            total: int) -> npt.NDArray[np.uint8]:
    lengths = ends - starts
    if total == 0:
        return np.zeros(0, dtype=np.uint8)
    base = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return data[np.arange(total) + base]


def _as_buffers(values: Sequence[bytes] | pa.Array) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        arr = arr.cast(pa.large_binary()) if not pa.types.is_large_binary(arr.type) else arr
        arr = arr.fill_null(b"")
        bufs = arr.buffers()
        offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1].copy()
        data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
        return data, offsets
    lens = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return np.frombuffer(b"".join(values), dtype=np.uint8), offsets


def _to_bytes(words: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint8]:
    return words.astype(">u4").view(np.uint8).reshape(len(words), 32)


def sm3_many(values: Sequence[bytes] | pa.Array) -> npt.NDArray[np.uint8]:
    """SM3 digests of many messages: an (n, 32) byte array."""
    data, offsets = _as_buffers(values)
    if KERNEL is not None and use_jit:
        out = np.empty((len(offsets) - 1, 32), dtype=np.uint8)
        KERNEL(data, offsets, IV, IV, False, out, TJ32)
        return out
    return _to_bytes(_digest_groups(IV, data, offsets, 0))


def hmac_states(key: bytes) -> tuple[U32, U32]:
    """The SM3 states after the ``ipad`` and ``opad`` key blocks (computed once per key)."""
    if len(key) > BLOCK:
        key = bytes(sm3_many([key])[0])
    k = key.ljust(BLOCK, b"\0")
    ipad = bytes(x ^ 0x36 for x in k)
    opad = bytes(x ^ 0x5C for x in k)
    def state(pad: bytes) -> U32:
        block = np.frombuffer(pad, dtype=">u4").astype(np.uint32).reshape(16, 1)
        return compress(IV.reshape(8, 1).copy(), block)[:, 0]
    return state(ipad), state(opad)


@functools.lru_cache(maxsize=64)
def _cached_states(key: bytes) -> tuple[U32, U32]:
    """:func:`hmac_states`, kept per key: the numpy compression of two blocks costs milliseconds,
    as much as hashing 50,000 values (SM4's IVs called it once per batch)."""
    states = hmac_states(key)
    for s in states:
        s.setflags(write=False)
    return states


def hmac_sm3_many(key: bytes, values: Sequence[bytes] | pa.Array,
                  states: tuple[U32, U32] | None = None) -> npt.NDArray[np.uint8]:
    """HMAC-SM3 (RFC 2104 construction) of many messages under one key: (n, 32) bytes."""
    inner_state, outer_state = states or _cached_states(key)
    data, offsets = _as_buffers(values)
    if KERNEL is not None and use_jit:
        out = np.empty((len(offsets) - 1, 32), dtype=np.uint8)
        KERNEL(data, offsets, inner_state.astype(np.uint32), outer_state.astype(np.uint32), True, out, TJ32)
        return out
    inner = _digest_groups(inner_state, data, offsets, BLOCK)
    inner_bytes = _to_bytes(inner).reshape(-1)
    n = len(inner)
    return _to_bytes(_digest_groups(outer_state, inner_bytes, np.arange(0, 32 * n + 1, 32, dtype=np.int64), BLOCK))


# the two lower-case hex digits of every byte value, as one little-endian uint16 (first digit first in memory)
HEX_PAIRS = np.array([ord(f"{i:02x}"[0]) | (ord(f"{i:02x}"[1]) << 8) for i in range(256)], dtype="<u2")


def hex_tokens(digests: npt.NDArray[np.uint8], nbytes: int = 16) -> pa.StringArray:
    """Lower-case hex of the first ``nbytes`` of each digest, as an Arrow string array.

    One table lookup per byte writes both of its digits; Arrow takes the numpy buffers as they are.

    >>> hex_tokens(np.array([[0, 171, 255]], dtype=np.uint8), 3).to_pylist()
    ['00abff']
    """
    if not 0 < nbytes <= digests.shape[1]:
        raise ValueError(f"a token takes 1 to {digests.shape[1]} bytes of the digest, not {nbytes}")
    n = len(digests)
    chars = HEX_PAIRS[digests[:, :nbytes]]
    offsets = np.arange(0, n * nbytes * 2 + 1, nbytes * 2, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
