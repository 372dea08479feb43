"""The integer SM2 verification agrees with gmssl's on valid, tampered and malformed input."""

from __future__ import annotations

import pytest

from shudata.security.crypto import sm2, sm2_verify


@pytest.mark.parametrize("i", range(12))
def test_agrees_with_gmssl(i: int) -> None:
    kp, other = sm2.generate_keypair(), sm2.generate_keypair()
    msg = f"检查点 {i}".encode()
    sig = sm2.sign(kp.private_hex, kp.public_hex, msg)
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    cases = [(kp.public_hex, msg, sig), (kp.public_hex, msg + b".", sig), (other.public_hex, msg, sig),
             (kp.public_hex, msg, flipped), (kp.public_hex, msg, sig[64:] + sig[:64])]
    for case in cases:
        assert sm2.verify(*case) == sm2.verify_gmssl(*case), case
    assert sm2.verify(kp.public_hex, msg, sig)
    assert not any(sm2.verify(*c) for c in cases[1:])


@pytest.mark.parametrize("sig", ["", "zz" * 64, "00" * 64, "ff" * 64, "ab" * 63])
def test_malformed_signatures_are_false(sig: str) -> None:
    kp = sm2.generate_keypair()
    assert sm2_verify.verify(kp.public_hex, b"m", sig) is False


def test_a_point_off_the_curve_is_refused() -> None:
    kp = sm2.generate_keypair()
    sig = sm2.sign(kp.private_hex, kp.public_hex, b"m")
    bad_key = kp.public_hex[:-1] + ("0" if kp.public_hex[-1] != "0" else "1")
    assert sm2_verify.verify(bad_key, b"m", sig) is False
    assert sm2_verify.verify("zz" * 64, b"m", sig) is False
