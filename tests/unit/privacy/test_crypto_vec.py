"""Vectorised SM3 / HMAC-SM3 / SM4-SIV against the reference implementations."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shudata.security.crypto import sm3_jit, sm3_vec
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


# Lengths at the padding's edges: 55 bytes still take one block with the 0x80 and the length, 56 need
# two; 64 fills a block exactly. HMAC adds its 64-byte key block to the length that is encoded.
EDGES = [0, 1, 3, 4, 5, 54, 55, 56, 57, 63, 64, 65, 118, 119, 120, 121, 127, 128, 129, 183, 184, 200]
edge_bytes = st.sampled_from(EDGES).flatmap(lambda n: st.binary(min_size=n, max_size=n))
chinese = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF) | st.sampled_from("0123456789 x\u3000"),
                  max_size=70).map(lambda s: s.encode())
# more values than the kernel's lanes, of mixed lengths, so that lanes take new rows mid-batch
many = st.lists(st.binary(max_size=200) | edge_bytes | chinese, min_size=0, max_size=3 * sm3_jit.LANES)


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=0, max_size=130), msgs=many, skip=st.integers(0, 3))
def test_hmac_and_sm3_over_many_mixed_lengths_equal_the_references(key: bytes, msgs: list[bytes], skip: int) -> None:
    arrow = pa.array([b"pad"] * skip + msgs, pa.binary()).slice(skip)  # an Arrow array with an offset
    expected_hmac = [hmac.new(key, m, "sm3").digest() for m in msgs]
    expected_sm3 = [hashlib.new("sm3", m).digest() for m in msgs]
    for use in (True, False):
        sm3_vec.use_jit = use
        try:
            assert [bytes(d) for d in sm3_vec.hmac_sm3_many(key, arrow)] == expected_hmac
            assert [bytes(d) for d in sm3_vec.sm3_many(msgs)] == expected_sm3
        finally:
            sm3_vec.use_jit = True


@pytest.mark.parametrize("length", EDGES)
def test_every_lane_gets_the_edge_length_among_other_lengths(jit: bool, length: int) -> None:
    key = bytes(range(16))
    msgs = [bytes([i % 251]) * ((length + i) % 201 if i % 2 else length) for i in range(2 * sm3_jit.LANES + 5)]
    got = sm3_vec.hmac_sm3_many(key, msgs)
    assert [bytes(d) for d in got] == [hmac.new(key, m, "sm3").digest() for m in msgs]


@pytest.mark.parametrize("nbytes", [0, 33])
def test_hex_tokens_refuse_more_bytes_than_the_digest_has(nbytes: int) -> None:
    with pytest.raises(ValueError, match="bytes of the digest"):
        sm3_vec.hex_tokens(sm3_vec.sm3_many([b"abc"]), nbytes)
