"""The buyer's fingerprinted file from the masked file: the same rows and marks as :func:`embed`, in every
format, with the row digests prepared once per masked file (issue 16)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.market.delivery.fingerprint import FingerprintSpec, embed
from shudata.market.delivery.leaked import read_leaked
from shudata.market.delivery.offline import digests_path, fingerprinted_batches, fingerprinted_file

SECRET = b"offline-test-secret-0123456789ab"
SPEC = FingerprintSpec(key_columns=("编号",), columns={"数量": 1, "金额": 0.01})


@pytest.fixture
def masked(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    n = 150_000  # more than two read batches
    table = pa.table({"编号": [f"K{i:06d}" for i in range(n)], "数量": rng.integers(0, 99, n),
                      "金额": np.round(rng.random(n) * 1000, 2), "城市": ["成都"] * n})
    path = tmp_path / "v1-masked.parquet"
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_file_holds_every_row_marked_as_embed_marks_them(masked: Path, fmt: str) -> None:
    with fingerprinted_file(masked, fmt, SPEC, secret=SECRET, buyer="b1") as f:
        data = f.read()
    got = read_leaked(io.BytesIO(data), f"x.{fmt}") if fmt == "csv" else pq.read_table(io.BytesIO(data))
    want = embed(pq.read_table(masked), SPEC, secret=SECRET, buyer="b1")
    assert got.num_rows == want.num_rows
    if fmt == "parquet":
        assert got.equals(want)
    else:
        assert got.column("数量").to_pylist()[:1000] == [str(v) for v in want.column("数量").to_pylist()[:1000]]
    assert digests_path(masked, SPEC, SECRET).exists()  # kept for the next buyer


def test_prepared_digests_must_cover_the_rows(masked: Path) -> None:
    batches = pq.ParquetFile(masked).iter_batches(batch_size=1000)
    with pytest.raises(RuntimeError, match="do not cover"):
        list(fingerprinted_batches(batches, SPEC, secret=SECRET, buyer="b", digests=np.zeros((10, 32), np.uint8)))
