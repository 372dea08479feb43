"""Turn an entry's data source into a file on disk that the ingest pipeline can read."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import pyarrow.parquet as pq

from shudata.demo.entries import FileSource, TableSource


def bundled(relative: str) -> Path:
    """A file of ``shudata/demo/data`` (the package is installed as files, not zipped).

    >>> bundled("opendata/sichuan_a_grade_scenic_areas.xlsx").is_file()
    True
    """
    return Path(str(resources.files("shudata.demo").joinpath("data", *relative.split("/"))))


@contextmanager
def source_file(source: FileSource | TableSource) -> Iterator[Path]:
    """The bundled file itself, or the generated table written to a temporary Parquet file."""
    if isinstance(source, FileSource):
        yield bundled(source.path)
        return
    with tempfile.TemporaryDirectory(prefix="shudata-demo-") as tmp:
        path = Path(tmp) / source.file_name
        pq.write_table(source.make(), path)
        yield path
