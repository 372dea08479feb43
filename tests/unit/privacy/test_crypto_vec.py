"""Vectorised SM3 / HMAC-SM3 / SM4-SIV against the reference implementations."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shudata.security.crypto import sm3_vec
from shudata.security.crypto.sm4_vec import DecryptionError, decrypt_many, encrypt_many

messages = st.lists(st.binary(max_size=150), min_size=1, max_size=20)


@pytest.fixture(params=[True, False], ids=["numba-kernel", "numpy-lanes"])
def jit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(sm3_vec, "use_jit", request.param)
    return bool(request.param)


@settings(max_examples=30, deadline=None)
@given(msgs=messages)
def test_sm3_many_equals_hashlib(msgs: list[bytes]) -> None:
    for use in (True, False):
        sm3_vec.use_jit = use
        try:
            got = [bytes(d) for d in sm3_vec.sm3_many(msgs)]
        finally:
            sm3_vec.use_jit = True
        assert got == [hashlib.new("sm3", m).digest() for m in msgs]


@settings(max_examples=30, deadline=None)
@given(key=st.binary(min_size=1, max_size=100), msgs=messages)
def test_hmac_sm3_many_equals_hmac_module(key: bytes, msgs: list[bytes]) -> None:
    for use in (True, False):
        sm3_vec.use_jit = use
        try:
            got = [bytes(d) for d in sm3_vec.hmac_sm3_many(key, msgs)]
        finally:
            sm3_vec.use_jit = True
        assert got == [hmac.new(key, m, "sm3").digest() for m in msgs]


@pytest.mark.parametrize("length", [0, 1, 55, 56, 63, 64, 119, 120, 200])  # block boundaries of the padding
def test_hmac_on_arrow_strings_at_block_boundaries(jit: bool, length: int) -> None:
    key = b"0123456789abcdef"
    values = ["x" * length, "四" * (length // 3)]
    got = sm3_vec.hmac_sm3_many(key, pa.array(values))
    assert [bytes(d) for d in got] == [hmac.new(key, v.encode(), "sm3").digest() for v in values]


def test_hex_tokens_are_lowercase_prefixes_of_the_digest() -> None:
    d = sm3_vec.sm3_many([b"abc"])
    assert sm3_vec.hex_tokens(d, 8).to_pylist() == [hashlib.new("sm3", b"abc").hexdigest()[:16]]


def test_sm4_siv_round_trip_is_deterministic_and_keeps_nulls() -> None:
    key = bytes(range(16))
    values = pa.array(["510104199001011234", None, "", "张三" * 30])
    ct = encrypt_many(key, values, prefix="k1:")
    assert ct.to_pylist() == encrypt_many(key, values, prefix="k1:").to_pylist()
    assert ct[1].as_py() is None
    assert decrypt_many(key, ct, prefix="k1:").to_pylist() == values.to_pylist()


def test_sm4_refuses_wrong_key_and_tampering() -> None:
    key = bytes(range(16))
    ct = encrypt_many(key, pa.array(["secret value"]))
    with pytest.raises(DecryptionError):
        decrypt_many(bytes(16), ct)
    tampered = ct[0].as_py()[:-1] + ("0" if ct[0].as_py()[-1] != "0" else "1")
    with pytest.raises(DecryptionError):
        decrypt_many(key, pa.array([tampered]))


def test_equal_values_give_equal_ciphertexts_and_different_values_differ() -> None:
    ct = encrypt_many(bytes(16), pa.array(["a", "a", "b"])).to_pylist()
    assert ct[0] == ct[1] != ct[2]
    assert len(set(np.asarray(ct))) == 2
