"""The format registry: every registered format has a real sample that is detected as that
format and read back through the same dispatch as an upload; the upload pages' ``accept``
lists and help text come from the registry."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jinja2 import Environment

from shudata.core.errors import UnsupportedMedia
from shudata.lake.ingest import formats, readers
from shudata.lake.ingest.plan import inferred_specs
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.parquet import parts, read_table
from shudata.web.ui.filters import install_filters

DATA = Path(__file__).resolve().parents[2] / "data" / "ingest" / "real"
TEMPLATES = Path(__file__).resolve().parents[3] / "src" / "shudata" / "web" / "ui" / "templates"
ROWS = [{"地区": "成都市", "值": 1}, {"地区": "绵阳市", "值": 2}, {"地区": "德阳市", "值": 3}]


def _real(name: str) -> Callable[[Path], Path]:
    return lambda tmp: DATA / name


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    return make


def _parquet(tmp: Path) -> Path:
    pq.write_table(pa.Table.from_pylist(ROWS), tmp / "values.parquet")
    return tmp / "values.parquet"


# (sample file, rows it holds): one per registered format; a new format needs one here
SAMPLES: dict[str, tuple[Callable[[Path], Path], int | None]] = {
    "csv": (_real("gdp_100m_yuan.csv"), None),
    "tsv": (_write("values.tsv", "地区\t值\n成都市\t1\n绵阳市\t2\n德阳市\t3\n".encode("gbk")), 3),
    "xlsx": (_real("sichuan_a_grade_scenic_areas.xlsx"), None),
    "xls": (_real("province_gdp_2015-2019.xls"), None),
    "json": (_write("values.json", json.dumps(ROWS, ensure_ascii=False).encode()), 3),
    "jsonl": (_write("values.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS).encode()), 3),
    "parquet": (_parquet, 3),
}


def test_every_registered_format_has_a_sample() -> None:
    assert set(SAMPLES) == set(formats.REGISTRY)


@pytest.mark.parametrize("name", sorted(formats.REGISTRY))
def test_sample_round_trips_through_detection_and_read(name: str, tmp_path: Path) -> None:
    make, rows = SAMPLES[name]
    path = make(tmp_path)
    fmt = formats.REGISTRY[name]
    assert path.suffix in fmt.suffixes
    assert readers.detect_format(path, path.name) == name
    info = readers.inspect(path, path.name, IngestOptions())
    assert info.columns and info.sample
    assert bool(info.sheets) == fmt.sheets
    staging = tmp_path / "stage"
    staging.mkdir()
    stats = readers.stage(info, inferred_specs(info), staging, IngestOptions())
    table = read_table(parts(staging))
    assert table.num_rows == stats.rows > 0
    assert table.column_names == [s.name for s in inferred_specs(info)]
    if rows is not None:
        assert stats.rows == rows and table.column("地区").to_pylist() == ["成都市", "绵阳市", "德阳市"]


@pytest.mark.parametrize(("head", "name", "fmt"), [
    (b"a,b\n", "x.csv", "csv"), (b"[1]", "x.csv", "csv"), (b"[{}]", "x.txt", "json"), (b"a,b", "x.txt", "csv"),
    (b"{}\n", "x", "json"), (b"a\tb\n", "x.TSV", "tsv"), (b"{}\n", "x.ndjson", "jsonl"),
    (b"PK\x03\x04", "x.json", "xlsx"), (b"PAR1", "x", "parquet"),
])
def test_sniff_by_magic_then_suffix_then_content(head: bytes, name: str, fmt: str) -> None:
    assert formats.sniff_format(head, name) == fmt


@pytest.mark.parametrize("name", ["x.xlsx", "x.xls", "x.parquet"])
def test_binary_suffix_without_its_magic_is_refused(name: str) -> None:
    with pytest.raises(UnsupportedMedia) as err:
        formats.sniff_format(b"a,b\n", name)
    assert err.value.code == "format_mismatch"


def test_unregistered_format_is_refused_naming_the_registered_ones() -> None:
    with pytest.raises(UnsupportedMedia) as err:
        formats.get("docx")
    assert err.value.code == "unsupported_format" and "JSON Lines" in err.value.en


def test_suffixes_are_unique_lowercase_and_dotted() -> None:
    suffixes = formats.suffixes()
    assert len(suffixes) == len(set(suffixes))
    assert all(s.startswith(".") and s == s.lower() for s in suffixes)


@pytest.mark.parametrize("template", ["pages/upload.html", "pages/entry_form.html"])
def test_upload_inputs_accept_the_registry_suffixes(template: str) -> None:
    """The file inputs of the upload and propose-from-file forms take ``accept`` from the
    registry (the template global ``ingest_formats``), never a list of their own."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    accepts = re.findall(r'accept="([^"]*)"', text)
    assert accepts == ["{{ ingest_formats.accept }}"]
    assert formats.upload_hints().accept == ",".join(formats.suffixes())


def test_the_ui_environment_renders_the_registry_accept_list() -> None:
    env = Environment(autoescape=True)
    install_filters(env)
    got = env.from_string('<input accept="{{ ingest_formats.accept }}">').render()
    assert re.findall(r'accept="([^"]*)"', got) == [",".join(formats.suffixes())]
    for f in formats.REGISTRY.values():
        assert f.label in formats.help_text("zh") and f.label in formats.help_text("en")
