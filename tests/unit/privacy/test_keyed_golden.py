"""Keyed operators give byte-identical tokens forever: pseudonyms are stored and joined on, so a
token that changes breaks the linkage across deliveries. tests/golden/privacy/keyed_tokens.json
holds tokens taken from the code before the kernel rewrite (2d3fc93); it is never regenerated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shudata.privacy.operators import udfs
from shudata.security.crypto import sm3_vec

GOLDEN = json.loads((Path(__file__).resolve().parents[2] / "golden" / "privacy" / "keyed_tokens.json")
                    .read_text(encoding="utf-8"))
KEYS = {kid: bytes.fromhex(k) for kid, k in GOLDEN["keys"].items()}
VALUES: list[str | None] = GOLDEN["values"]
BINDING = "101001/000009"

# operator -> the UDF call on (values, key id)
CALLS: dict[str, Callable[[pa.Array, str], pa.Array]] = {
    "pseudonym16": lambda v, k: udfs.pseudonym_udf(KEYS).fn(v, pa.array([k]), pa.array([16])),
    "pseudonym8": lambda v, k: udfs.pseudonym_udf(KEYS).fn(v, pa.array([k]), pa.array([8])),
    "mobile": lambda v, k: udfs.fpe_udf(KEYS).fn(v, pa.array([k]), pa.array(["mobile"])),
    "resident_id": lambda v, k: udfs.fpe_udf(KEYS).fn(v, pa.array([k]), pa.array(["resident_id"])),
    "shift": lambda v, k: udfs.shift_udf(KEYS).fn(v, pa.array([k]), pa.array([30])),
    "sm4": lambda v, k: udfs.sm4_udf(KEYS, BINDING).fn(v, pa.array([k])),
}


@pytest.fixture(params=[True, False], ids=["numba-kernel", "numpy-lanes"])
def jit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(sm3_vec, "use_jit", request.param)
    return bool(request.param)


def _shapes() -> dict[str, pa.Array | pa.ChunkedArray]:
    """The same values as a plain array, a slice of a longer one (offset ≠ 0), chunks, large_string."""
    padded = pa.array(["前缀", None, *VALUES, "后缀"])
    half = len(VALUES) // 2
    return {"plain": pa.array(VALUES), "sliced": padded.slice(2, len(VALUES)),
            "chunked": pa.chunked_array([pa.array(VALUES[:half], pa.string()), pa.array(VALUES[half:], pa.string())]),
            "large": pa.array(VALUES, pa.large_string())}


@pytest.mark.parametrize("shape", ["plain", "sliced", "chunked", "large"])
@pytest.mark.parametrize("op", sorted(CALLS))
@pytest.mark.parametrize("key_id", sorted(KEYS))
def test_keyed_tokens_equal_the_stored_ones(jit: bool, shape: str, op: str, key_id: str) -> None:
    got = CALLS[op](_shapes()[shape], key_id)
    assert got.to_pylist() == GOLDEN["tokens"][key_id][op]


def _digests() -> np.ndarray[Any, np.dtype[np.uint8]]:
    rows = [np.frombuffer(bytes.fromhex(h), dtype=np.uint8) for h in GOLDEN["from_digests"]["digests"]]
    return np.stack(rows)


def test_fake_mobiles_from_fixed_digests_bump_a_collision_and_wrap() -> None:
    g = GOLDEN["from_digests"]
    d = _digests()
    assert udfs.fake_mobiles(d, pa.nulls(len(d), pa.string())).to_pylist() == g["first"]
    # rows 1, 3 and 5 equal their own fake: bumped by one, the last one wraps 99999999 -> 00000000
    assert udfs.fake_mobiles(d, pa.array(g["originals"])).to_pylist() == g["mobiles"]


def test_fake_resident_ids_from_fixed_digests() -> None:
    assert udfs.fake_resident_ids(_digests()).to_pylist() == GOLDEN["from_digests"]["resident_ids"]
