"""Read a local file for scanning or masking with the *same readers as ingest*.

The file goes through :mod:`shudata.lake.ingest.readers` (format sniffing, CSV in any
Chinese encoding, XLS, XLSX, JSON, Parquet) into a temporary staging directory and is
read back as one Arrow table; nothing is stored in the lake. ``as_text`` keeps every
column as text (what scanning wants: leading zeros and ``X`` check characters survive).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa

from shudata.core.errors import NotFound
from shudata.lake.ingest import readers
from shudata.lake.ingest.limits import ReadLimits
from shudata.lake.ingest.plan import inferred_specs
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.ingest.types import ColumnSpec
from shudata.lake.parquet import parts, read_table


def read_file(path: Path, *, as_text: bool = False, options: IngestOptions | None = None,
              name: str | None = None, limits: ReadLimits | None = None) -> pa.Table:
    """The data rows of ``path`` as an Arrow table (typed as ingest would, or all text).

    ``name`` is the file's original name (an upload's temp file has none); ``limits`` bound
    its shape as for ingest (413 beyond).
    """
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"文件不存在：{path}", f"File not found: {path}", code="file_not_found")
    opts = options or IngestOptions()
    info = readers.inspect(path, name or path.name, opts, limits)
    specs = ([ColumnSpec(source=c, name=c, data_type="C") for c in info.columns] if as_text
             else inferred_specs(info))
    with tempfile.TemporaryDirectory(prefix="shudata-privacy-") as tmp:
        staging = Path(tmp) / "stage"
        staging.mkdir()
        readers.stage(info, specs, staging, opts, limits=limits)
        return read_table(parts(staging))
