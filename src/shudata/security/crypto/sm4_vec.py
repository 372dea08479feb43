"""Deterministic SM4 encryption of whole columns at once (SIV construction over SM4-CTR).

Each value gets a synthetic IV = HMAC-SM3(mac key, value)[:16]; the keystream is SM4
applied to the counter blocks IV, IV+1, … For a whole batch every counter block is
encrypted in *one* OpenSSL ECB call and XORed with the values by numpy, so there is no
Python per value. The same key and value always give the same ciphertext (joins and
group-bys still work); decryption recomputes the IV and refuses a wrong key or a tampered
value. Keys: the given 16-byte key encrypts; SM3(key || "siv-mac") authenticates.

>>> import pyarrow as pa
>>> key = bytes(range(16))
>>> ct = encrypt_many(key, pa.array(["510104199001011234", "张三", ""]))
>>> decrypt_many(key, ct).to_pylist()
['510104199001011234', '张三', '']
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shudata.security.crypto.sm3 import sm3
from shudata.security.crypto.sm3_vec import HEX_PAIRS, hmac_sm3_many

IV_LEN = 16
_UNHEX = np.full(256, 255, dtype=np.uint8)
_UNHEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)
_UNHEX[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)


class DecryptionError(ValueError):
    """Wrong key, or a value that is not an SM4 ciphertext of this scheme."""


def _buffers(arr: pa.Array) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    a = arr.cast(pa.large_binary()).fill_null(b"")
    bufs = a.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[a.offset:a.offset + len(a) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    base = offsets[0]
    return data[base:offsets[-1]], (offsets - base).astype(np.int64)


def _keystream(key: bytes, ivs: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Keystream bytes for every value, concatenated (value i gets ``lengths[i]`` bytes)."""
    nblocks = (lengths + 15) // 16
    total_blocks = int(nblocks.sum())
    if total_blocks == 0:
        return np.zeros(0, dtype=np.uint8)
    owner = np.repeat(np.arange(len(lengths)), nblocks)
    first = np.concatenate([[0], np.cumsum(nblocks)[:-1]])
    j = np.arange(total_blocks) - first[owner]
    counters = ivs[owner].copy()
    low = counters[:, 12:].copy().view(">u4").reshape(-1).astype(np.uint64)
    counters[:, 12:] = ((low + j.astype(np.uint64)) & 0xFFFFFFFF).astype(">u4").view(np.uint8).reshape(-1, 4)
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    stream = np.frombuffer(enc.update(counters.tobytes()) + enc.finalize(), dtype=np.uint8)
    # keep the first lengths[i] bytes of each value's blocks
    starts = np.repeat(first * 16, lengths)
    within = np.arange(int(lengths.sum())) - np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return stream[starts + within]


def _hex(data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], prefix: str) -> pa.Array:
    hexed = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets * 2),
                                             pa.py_buffer(HEX_PAIRS[data]))
    if prefix:
        hexed = pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), hexed,
                                            pa.scalar("", pa.large_string()))
    out = hexed
    return out.cast(pa.string())


def _mac_key(key: bytes) -> bytes:
    return sm3(key + b"siv-mac")[:16]


def encrypt_many(key: bytes, values: pa.Array, prefix: str = "") -> pa.Array:
    """Encrypt every (UTF-8) value: ``prefix`` + hex(IV || ciphertext). Nulls stay null."""
    data, offsets = _buffers(values)
    lengths = np.diff(offsets)
    ivs = hmac_sm3_many(_mac_key(key), values.cast(pa.large_binary()).fill_null(b""))[:, :IV_LEN]
    ct = data ^ _keystream(key, ivs, lengths)
    len(lengths)
    out_len = lengths + IV_LEN
    out_off = np.concatenate([[0], np.cumsum(out_len)]).astype(np.int64)
    buf = np.empty(int(out_off[-1]), dtype=np.uint8)
    iv_pos = (out_off[:-1, None] + np.arange(IV_LEN)).reshape(-1)
    buf[iv_pos] = ivs.reshape(-1)
    body_pos = np.repeat(out_off[:-1] + IV_LEN, lengths) + (
        np.arange(len(ct)) - np.repeat(offsets[:-1], lengths))
    buf[body_pos] = ct
    out = _hex(buf, out_off, prefix)
    return pc.if_else(pc.is_null(values), pa.scalar(None, pa.string()), out) if values.null_count else out


def decrypt_many(key: bytes, tokens: pa.Array, prefix: str = "") -> pa.Array:
    """Inverse of :func:`encrypt_many`; raises :class:`DecryptionError` on a wrong key."""
    if tokens.null_count:
        present = pc.drop_null(tokens)
        plain = decrypt_many(key, present, prefix)
        positions = np.cumsum(tokens.is_valid().to_numpy(zero_copy_only=False)) - 1
        index = pa.array(positions, mask=tokens.is_null().to_numpy(zero_copy_only=False))
        return pc.take(plain, index)
    text = tokens
    if prefix:
        if not pc.all(pc.starts_with(text, prefix)).as_py():
            raise DecryptionError("value without the expected key prefix")
        text = pc.utf8_slice_codeunits(text, len(prefix))
    raw, hoff = _buffers(text)
    nib = _UNHEX[raw]
    if len(nib) and (nib.max() == 255 or np.any(np.diff(hoff) % 2)):
        raise DecryptionError("not a hex ciphertext")
    data = (nib[0::2] << 4) | nib[1::2]
    off = hoff // 2
    lengths = np.diff(off) - IV_LEN
    if np.any(lengths < 0):
        raise DecryptionError("ciphertext too short")
    iv_pos = (off[:-1, None] + np.arange(IV_LEN)).reshape(-1)
    ivs = data[iv_pos].reshape(-1, IV_LEN)
    body_pos = np.repeat(off[:-1] + IV_LEN, lengths) + (
        np.arange(int(lengths.sum())) - np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths))
    plain = data[body_pos] ^ _keystream(key, ivs, lengths)
    p_off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    arr = pa.Array.from_buffers(pa.large_binary(), len(lengths),
                                [None, pa.py_buffer(p_off.tobytes()), pa.py_buffer(plain.tobytes())])
    if not np.array_equal(hmac_sm3_many(_mac_key(key), arr)[:, :IV_LEN], ivs):
        raise DecryptionError("SM4 authentication failed (wrong key or tampered value)")
    return arr.cast(pa.large_string()).cast(pa.string())
