"""Vectorised functions behind the operators SQL cannot express.

Each ``*_udf(keys)`` returns a :class:`~shudata.query.engines.base.ScalarUdf` whose
function takes Arrow arrays (a whole batch) and returns one; key material is looked up by
key id from ``keys`` (the SQL only ever names the key id). Sub-keys are derived per use
(SM3 of key and a label), so one managed key never serves two purposes directly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shudata.core.errors import NotFound
from shudata.query.engines.base import ScalarUdf
from shudata.security.crypto.sm3 import sm3
from shudata.security.crypto.sm3_vec import hex_tokens, hmac_sm3_many, hmac_states
from shudata.security.crypto.sm4_vec import encrypt_many
from shudata.standards.cn_id import CHECK_CHARS, WEIGHTS
from shudata.standards.regions import all_regions

MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "175", "176", "177", "178", "180", "181", "182",
                   "183", "184", "185", "186", "187", "188", "189", "191", "193", "195", "196", "197", "198", "199")


def _arr(x: pa.Array | pa.ChunkedArray) -> pa.Array:
    return x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x


def _const(x: pa.Array | pa.ChunkedArray) -> object:
    a = _arr(x)
    return a[0].as_py() if len(a) else None


def subkey(key: bytes, label: str) -> bytes:
    """A 16-byte key for one purpose, derived from a managed key."""
    return sm3(key + b"\x00" + label.encode())[:16]


def _material(keys: Mapping[str, bytes], key_id: object) -> bytes:
    if not isinstance(key_id, str) or key_id not in keys:
        raise NotFound(f"密钥 {key_id} 不存在或未加载", f"Key {key_id!r} does not exist or is not loaded",
                       code="key_not_found")
    return keys[key_id]


@functools.lru_cache(maxsize=64)
def _states(key: bytes) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    return hmac_states(key)


def digests(key: bytes, values: pa.Array) -> npt.NDArray[np.uint8]:
    """HMAC-SM3 of every value (as UTF-8 text; nulls hash as empty): (n, 32) bytes."""
    text = values if pa.types.is_string(values.type) or pa.types.is_large_string(values.type) \
        else pc.cast(values, pa.string())
    return hmac_sm3_many(key, text.fill_null(""), _states(key))


def _keep_nulls(values: pa.Array, out: pa.Array) -> pa.Array:
    if values.null_count == 0:
        return out
    return pc.if_else(pc.is_null(values), pa.scalar(None, out.type), out)


def _u32(d: npt.NDArray[np.uint8], at: int) -> npt.NDArray[np.uint64]:
    return d[:, at:at + 4].copy().view(">u4").reshape(-1).astype(np.uint64)


def pseudonym_udf(keys: Mapping[str, bytes]) -> ScalarUdf:
    """``shudata_pseudonym(value, key_id, nbytes)`` → hex HMAC-SM3 token (same value, same token)."""
    def fn(values: pa.Array, key_id: pa.Array, nbytes: pa.Array) -> pa.Array:
        v = _arr(values)
        key = subkey(_material(keys, _const(key_id)), "pseudonym")
        return _keep_nulls(v, hex_tokens(digests(key, v), int(_const(nbytes) or 16)))  # type: ignore[call-overload]
    return ScalarUdf("shudata_pseudonym", fn, ("VARCHAR", "VARCHAR", "BIGINT"), "VARCHAR")


def sm4_key(material: bytes, binding: str | None) -> bytes:
    """The SM4 key of ciphertexts bound to ``binding`` (a resource code; ``None``: unbound, the old format).

    The binding is part of the key derivation, so a token whose binding was edited fails to decrypt.
    """
    return subkey(material, "sm4" if binding is None else f"sm4@{binding}")


def sm4_prefix(key_id: str, binding: str | None) -> str:
    """What precedes the hex of an SM4 token: ``k1@101001/000009:`` (bound) or ``k1:`` (unbound).

    >>> sm4_prefix("k1", "101001/000009"), sm4_prefix("k1", None)
    ('k1@101001/000009:', 'k1:')
    """
    return f"{key_id}@{binding}:" if binding else f"{key_id}:"


def sm4_udf(keys: Mapping[str, bytes], binding: str | None = None) -> ScalarUdf:
    """``shudata_sm4(value, key_id)`` → ``key_id@binding:`` + hex(IV || SM4 ciphertext), reversible with the key.

    ``binding`` is the code of the resource the values come from: only that resource's provider
    department may decrypt them (:mod:`shudata.privacy.decrypt`).
    """
    def fn(values: pa.Array, key_id: pa.Array) -> pa.Array:
        v = _arr(values)
        kid = str(_const(key_id))
        return encrypt_many(sm4_key(_material(keys, kid), binding), v, prefix=sm4_prefix(kid, binding))
    return ScalarUdf("shudata_sm4", fn, ("VARCHAR", "VARCHAR"), "VARCHAR")


@functools.cache
def _county_codes() -> npt.NDArray[np.str_]:
    return np.array(sorted(c for c, r in all_regions().items() if r.level == "county"))


def _digits(n: npt.NDArray[np.uint64], width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(n.astype(np.int64)), pa.string()), width, "0")


def fake_resident_ids(d: npt.NDArray[np.uint8]) -> pa.Array:
    """Valid-looking 18-digit IDs from digests: a real county code, a real birth date in
    1880-1899 (so never a living person's number), a sequence and the right check digit."""
    codes = _county_codes()
    region = pa.array(codes[(_u32(d, 0) % len(codes)).astype(np.int64)])
    start = np.datetime64("1880-01-01")
    days = (_u32(d, 4) % 7305).astype("timedelta64[D]")
    birth = pc.replace_substring(pa.array(np.datetime_as_string(start + days, unit="D")), "-", "")
    seq = _digits(_u32(d, 8) % 1000, 3)
    first17 = pc.binary_join_element_wise(region, birth, seq, "")
    digits = np.frombuffer(pc.binary_join_element_wise(first17, "").cast(pa.binary()).buffers()[2],
                           dtype=np.uint8)[: len(d) * 17].reshape(-1, 17) - ord("0")
    check = np.frombuffer(CHECK_CHARS.encode(), dtype="S1")[(digits.astype(np.int64) @ np.array(WEIGHTS)) % 11]
    return pc.binary_join_element_wise(first17, pa.array(check.astype(str)), "")


# A mobile number is written as three little-endian words: " " + its prefix, then two groups of 4 digits
# (one table lookup each); the leading space is dropped when the rows are packed to 11 bytes.
_PREFIX_WORDS = np.frombuffer(b"".join(b" " + p.encode() for p in MOBILE_PREFIXES), dtype="<u4")
_FOUR_DIGITS = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode(), dtype="<u4")
MOBILE_LEN = 11


def _mobile_chars(prefix: npt.NDArray[np.intp], body: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint8]:
    """The 11 ASCII digits of each mobile number (prefix, then ``body`` zero-padded to 8): (n, 11) bytes.

    >>> bytes(_mobile_chars(np.array([0]), np.array([1234567], dtype=np.uint32))[0])
    b'13001234567'
    """
    words = np.empty((len(body), 3), dtype="<u4")
    words[:, 0] = _PREFIX_WORDS[prefix]
    words[:, 1] = _FOUR_DIGITS[body // 10_000]
    words[:, 2] = _FOUR_DIGITS[body % 10_000]
    return np.ascontiguousarray(words.view(np.uint8)[:, 1:])


def fake_mobiles(d: npt.NDArray[np.uint8], originals: pa.Array) -> pa.Array:
    """Mobile numbers with a current prefix, never equal to their own input.

    The prefix is chosen by the digest's first byte, the 8 digits after it by its next 4 bytes; a
    number equal to its input is bumped by one (mod 10^8). The bytes are written by numpy, no
    per-value strings.
    """
    n = len(d)
    prefix = d[:, 0].astype(np.intp) % len(MOBILE_PREFIXES)
    body = (_u32(d, 1) % np.uint64(100_000_000)).astype(np.uint32)
    chars = _mobile_chars(prefix, body)
    offsets = pa.py_buffer(np.arange(0, n * MOBILE_LEN + 1, MOBILE_LEN, dtype=np.int32))
    out = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(chars))
    same = np.asarray(pc.equal(out, originals).fill_null(False))
    if not same.any():
        return out
    chars[same] = _mobile_chars(prefix[same], (body[same] + 1) % np.uint32(100_000_000))
    return pa.StringArray.from_buffers(n, offsets, pa.py_buffer(chars))


def fpe_udf(keys: Mapping[str, bytes]) -> ScalarUdf:
    """``shudata_fpe(value, key_id, kind)``: format-preserving pseudonyms (resident_id, mobile)."""
    def fn(values: pa.Array, key_id: pa.Array, kind: pa.Array) -> pa.Array:
        v = _arr(values)
        k = str(_const(kind))
        d = digests(subkey(_material(keys, _const(key_id)), f"fpe:{k}"), v)
        out = fake_resident_ids(d) if k == "resident_id" else fake_mobiles(d, v)
        return _keep_nulls(v, out)
    return ScalarUdf("shudata_fpe", fn, ("VARCHAR", "VARCHAR", "VARCHAR"), "VARCHAR")


def shift_udf(keys: Mapping[str, bytes]) -> ScalarUdf:
    """``shudata_shift_days(entity, key_id, max_days)``: a keyed shift in ±max_days, never 0."""
    def fn(entity: pa.Array, key_id: pa.Array, max_days: pa.Array) -> pa.Array:
        e = _arr(entity)
        m = int(_const(max_days) or 30)  # type: ignore[call-overload]
        d = digests(subkey(_material(keys, _const(key_id)), "date_shift"), e)
        r = (_u32(d, 0) % np.uint64(2 * m)).astype(np.int64)
        shift = np.where(r < m, r - m, r - m + 1)
        return pa.array(shift, type=pa.int64())
    return ScalarUdf("shudata_shift_days", fn, ("VARCHAR", "VARCHAR", "BIGINT"), "BIGINT")


def noise_udf() -> ScalarUdf:
    """``shudata_noise(x, scale, distribution)``: add Laplace or uniform noise (random per row)."""
    def fn(values: pa.Array, scale: pa.Array, dist: pa.Array) -> pa.Array:
        v = _arr(values)
        s = float(_const(scale) or 1.0)  # type: ignore[arg-type]
        rng = np.random.default_rng()
        n = len(v)
        noise = rng.laplace(0.0, s, n) if _const(dist) == "laplace" else rng.uniform(-s, s, n)
        x = pc.cast(v, pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        return _keep_nulls(v, pa.array(x + noise))
    return ScalarUdf("shudata_noise", fn, ("DOUBLE", "DOUBLE", "VARCHAR"), "DOUBLE")


SYNTHETIC_KINDS: dict[str, Callable[[object], str]] = {
    "name": lambda f: f.name(),  # type: ignore[attr-defined]
    "address": lambda f: f.address(),  # type: ignore[attr-defined]
    "company": lambda f: f.company(),  # type: ignore[attr-defined]
    "email": lambda f: f.free_email(),  # type: ignore[attr-defined]
    "city": lambda f: f.city_name(),  # type: ignore[attr-defined]
}
POOL_SIZE = 4096


@functools.lru_cache(maxsize=16)
def synthetic_pool(seed: int, kind: str) -> npt.NDArray[np.str_]:
    """A pool of fake ``kind`` values from Faker ``zh_CN``, seeded (same key, same pool)."""
    from faker import Faker  # noqa: PLC0415 - faker loads only for synthetic values

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    make = SYNTHETIC_KINDS[kind]
    return np.array([make(fake) for _ in range(POOL_SIZE)])


def synthetic_udf(keys: Mapping[str, bytes]) -> ScalarUdf:
    """``shudata_synthetic(value, key_id, kind)``: the same value always gets the same fake value."""
    def fn(values: pa.Array, key_id: pa.Array, kind: pa.Array) -> pa.Array:
        v = _arr(values)
        k = str(_const(kind))
        key = subkey(_material(keys, _const(key_id)), f"synthetic:{k}")
        pool = synthetic_pool(int.from_bytes(key[:8], "big"), k)
        idx = (_u32(digests(key, v), 0) % len(pool)).astype(np.int64)
        out = pa.array(pool[idx])
        same = pc.fill_null(pc.equal(out, v), False)
        out = pc.if_else(same, pa.array(pool[(idx + 1) % len(pool)]), out)
        return _keep_nulls(v, out)
    return ScalarUdf("shudata_synthetic", fn, ("VARCHAR", "VARCHAR", "VARCHAR"), "VARCHAR")


UDF_FACTORIES: dict[str, Callable[[Mapping[str, bytes]], ScalarUdf]] = {
    "shudata_pseudonym": pseudonym_udf,
    "shudata_sm4": sm4_udf,
    "shudata_fpe": fpe_udf,
    "shudata_shift_days": shift_udf,
    "shudata_noise": lambda _keys: noise_udf(),
    "shudata_synthetic": synthetic_udf,
}
