"""Encoding and layout recognition, table-driven (no database)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from shudata.core.errors import InvalidInput, ShudataError, UnsupportedMedia
from shudata.lake.ingest import formats, rows
from shudata.lake.ingest.detect import detect_encoding

TEXT = "地区,人口\n成都市,2140\n绵阳市,486\n"


@pytest.mark.parametrize(("case", "data", "expected"), [
    ("ascii", b"a,b\n1,2\n", "utf-8"),
    ("utf-8", TEXT.encode(), "utf-8"),
    ("utf-8 with BOM", codecs.BOM_UTF8 + TEXT.encode(), "utf-8-sig"),
    ("gbk", TEXT.encode("gbk"), "gbk"),
    ("gb18030 only (𠮷 is not in GBK)", (TEXT + "𠮷家村,1\n").encode("gb18030"), "gb18030"),
    ("long gbk with utf-8-looking bytes", (TEXT * 3000).encode("gbk"), "gbk"),
    # 姚志强 in GBK is valid UTF-8 (three two-byte characters): a GBK file holding such a line is
    # GBK, not a mix (found by a seller's upload of 200 people refused at row 166)
    ("gbk with a line that is valid utf-8 by chance", (TEXT * 60 + "姚志强,33\n" + TEXT * 40).encode("gbk"), "gbk"),
    ("gbk whose only chinese is valid utf-8 by chance", "姓名,年龄\n姚志强,33\n".encode("gbk"), "gbk"),
])
def test_detect_encoding(tmp_path: Path, case: str, data: bytes, expected: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert detect_encoding(path) == expected


@pytest.mark.parametrize(("case", "data", "declared", "error", "code"), [
    ("utf-8 then gbk lines", TEXT.encode() + "德阳市,345\n".encode("gbk"), None, InvalidInput, "mixed_encoding"),
    ("gbk then utf-8 lines, far apart", (TEXT * 20000).encode("gbk") + ("德阳市,345\n" * 5000).encode(), None,
     InvalidInput, "mixed_encoding"),
    ("declared utf-8, is gbk", TEXT.encode("gbk"), "utf-8", InvalidInput, "wrong_encoding"),
    ("declared gbk, is utf-8", TEXT.encode(), "GBK", InvalidInput, "wrong_encoding"),
    ("utf-8 lines then a gbk line valid as utf-8 by chance, then gbk", TEXT.encode() + "姚志强,33\n".encode("gbk")
     + "德阳市,345\n".encode("gbk"), None, InvalidInput, "mixed_encoding"),
    ("declared something unknown", TEXT.encode(), "latin-9", InvalidInput, "bad_encoding"),
    ("binary", bytes(range(256)) * 4, None, UnsupportedMedia, "binary_file"),
    ("utf-16", TEXT.encode("utf-16"), None, UnsupportedMedia, "unsupported_encoding"),
])
def test_refused_encodings(tmp_path: Path, case: str, data: bytes, declared: str | None,
                           error: type[ShudataError], code: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    with pytest.raises(error) as err:
        detect_encoding(path, declared)
    assert err.value.code == code and err.value.zh


@pytest.mark.parametrize(("head", "name", "fmt"), [
    (b"PAR1xxxx", "x.bin", "parquet"),
    (b'[{"a": 1}]', "data.txt", "json"),
    (b'{"a": 1}\n{"a": 2}\n', "data.jsonl", "jsonl"),
    (b"a\tb\n", "data.tsv", "tsv"),
])
def test_sniff_format(head: bytes, name: str, fmt: str) -> None:
    assert formats.sniff_format(head, name) == fmt


@pytest.mark.parametrize(("table", "header"), [
    ([["附件1："], ["全国普通高等学校名单"], ["序号", "学校名称", "学校标识码"], ["北京市（92所）", "", ""],
      ["1", "北京大学", "4111010001"]], 2),  # MOE list: two title rows, a section row below the header
    ([["", "人均GDP", "GDP"], ["1978年", "381.7", "3650.1"]], 0),  # header with an empty first cell
    ([["数据库：月度数据", "", ""], ["时间：1990-2021", "", ""], ["时间", "M2", "M1"], ["2021年5月", "1", "2"]], 2),
    ([["2024", "2023"], ["1", "2"]], 0),  # numbers only: the first row still
])
def test_guess_header(table: list[list[str]], header: int) -> None:
    assert rows.guess_header(table) == header


@pytest.mark.parametrize(("tail", "count"), [
    ([["成都", "1", "2"], ["注：数据为初步核算数", "", ""], ["数据来源：国家统计局", "", ""]], 2),
    ([["成都", "1", "2"], ["", "", ""]], 1),  # trailing blank row
    ([["成都", "1", "2"], ["\u3000\u30002.2018年数据为修订后数据", "", ""]], 1),  # indented note
    ([["成都", "1", "2"], ["绵阳", "3", ""]], 0),
])
def test_footer_count(tail: list[list[str]], count: int) -> None:
    assert rows.footer_count(tail, 3) == count
