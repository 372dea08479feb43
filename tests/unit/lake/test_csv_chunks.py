"""The CSV chunk step and the seal of a staged version: UTF-8 read as is is still validated
by the parser (transcoded GBK is not validated twice), and every staged part is fsynced."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.lake import parquet
from shudata.lake.ingest import csv as csvmod
from shudata.lake.ingest.types import ColumnSpec

NAMES = ("姓名", "城市", "年龄")
SPECS = (ColumnSpec("姓名", "姓名", "C"), ColumnSpec("城市", "城市", "C"), ColumnSpec("年龄", "年龄", "I"))


def _task(path: Path, encoding: str, out: Path, *, last: bool) -> csvmod.ChunkTask:
    size = path.stat().st_size
    return csvmod.ChunkTask(str(path), csvmod.Chunk(0, 0, size, 2, last), encoding, ",", NAMES, SPECS,
                            0, False, str(out), frozenset({"n/a"}))


@pytest.mark.parametrize("last", [False, True])
def test_invalid_utf8_in_a_chunk_is_refused_as_mixed_encoding(tmp_path: Path, last: bool) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("张三,成都市,30\n".encode() + "李四,绵阳市,41\n".encode("gbk") + "王五,德阳市,52\n".encode())
    res = csvmod.run_chunk(_task(path, "utf-8", tmp_path / "part.parquet", last=last))
    assert res["error"]["code"] == "mixed_encoding"
    assert not (tmp_path / "part.parquet").exists()


def test_transcoded_gbk_chunk_keeps_every_value(tmp_path: Path) -> None:
    rows = [("张三", "成都市", "30"), ("李四", "N/A", "41"), ('"王\n五"', "德阳市", "52"), ("赵六", "攀枝花市", "")]
    path = tmp_path / "gbk.csv"
    path.write_bytes("".join(",".join(r) + "\n" for r in rows).encode("gbk"))
    out = tmp_path / "part.parquet"
    res = csvmod.run_chunk(_task(path, "gbk", out, last=False))
    assert (res["rows"], res["missing"]) == (4, {"城市": 1})
    assert pq.read_table(out).to_pydict() == {"姓名": ["张三", "李四", "王\n五", "赵六"],
                                              "城市": ["成都市", None, "德阳市", "攀枝花市"],
                                              "年龄": [30, 41, 52, None]}


def test_chunks_cut_at_record_ends_with_and_without_quotes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvmod, "MIN_TAIL", 100)
    plain = "".join(f"{i},成都市,{i % 90}\n" for i in range(500)).encode("gbk")
    quoted = "".join(f'"a\n{i}",成都市,{i % 90}\n' for i in range(500)).encode("gbk")
    for data in (plain, quoted):
        path = tmp_path / "f.csv"
        path.write_bytes(data)
        chunks = list(csvmod.plan_chunks(path, 0, 1, 1000))
        assert len(chunks) > 3 and sum(c.length for c in chunks) == len(data)
        for c in chunks:
            piece = data[c.offset:c.offset + c.length]
            assert piece.endswith(b"\n") and piece.count(b'"') % 2 == 0
            assert c.first_line == 1 + data.count(b"\n", 0, c.offset)


def test_seal_fsyncs_every_part_and_the_folder_and_counts_them(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    staging = parquet.new_staging(tmp_path)
    for i in range(11):
        parquet.write_part(pa.table({"v": list(range(i + 1))}), staging / f"part-{i:05d}.parquet")
    synced: list[Path] = []
    real = parquet.fsync_path
    monkeypatch.setattr(parquet, "fsync_path", lambda p: (synced.append(p), real(p)))
    res = parquet.finish_staged(staging)
    assert (res.rows, res.files) == (sum(range(1, 12)), 11)
    assert res.bytes == sum(p.stat().st_size for p in parquet.parts(staging))
    assert sorted(synced) == sorted([*parquet.parts(staging), staging])
    assert synced[-1] == staging  # the folder after its parts
