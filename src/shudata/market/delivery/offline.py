"""Offline delivery (离线交付): the buyer's fingerprinted copy of the product's masked file.

The rows are those every exit serves: the masked file of the sharing machinery
(:func:`shudata.sharing.delivery.masked_file` — granted fields, row filter, the ``trade``
masking profile), read batch by batch; each batch gets the buyer's fingerprint
(:func:`~shudata.market.delivery.fingerprint.embed`) and goes to the one writer of download
files (:func:`shudata.query.export.write_file`: CSV with BOM, XLSX, Parquet). Memory stays
bounded and nothing is written half: the caller receives a spooled file or an error.

The row digests (HMAC-SM3 of every key) depend only on the masked file and the product's
secret, not on the buyer: they are computed once per masked file and kept beside it
(:func:`prepared_digests`), as the masked file itself is prepared once per version.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shudata.lake.parquet import read_table
from shudata.lake.reader import iter_batches, layout
from shudata.market.delivery.fingerprint import FingerprintSpec, Keys, check_spec, embed, key_text, row_digests
from shudata.query.export import write_file
from shudata.security.crypto.sm3 import sm3_hex


def digests_path(masked: Path, spec: FingerprintSpec, secret: bytes) -> Path:
    """Where the row digests of ``masked`` under this secret and key are kept."""
    tag = sm3_hex(repr((masked.name, spec.key_columns, hashlib.sha256(secret).hexdigest())).encode())[:16]
    return masked.with_name(f"{masked.stem}.fp-{tag}.npy")


def compute_digests(masked: Path, spec: FingerprintSpec, secret: bytes) -> npt.NDArray[np.uint8]:
    keys = Keys.derive(secret, list(spec.columns))
    return row_digests(keys, key_text(read_table([masked], columns=list(spec.key_columns)), spec.key_columns))


def prepared_digests(masked: Path, spec: FingerprintSpec, secret: bytes) -> npt.NDArray[np.uint8]:
    """The row digests of ``masked``: read when kept, else computed and kept (atomic write)."""
    path = digests_path(masked, spec, secret)
    try:
        got = np.load(path, allow_pickle=False)
        if got.dtype == np.uint8 and got.ndim == 2 and got.shape[1] == 32:
            return got
    except (OSError, ValueError):
        pass
    digests = compute_digests(masked, spec, secret)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp.npy")
    try:
        np.save(tmp, digests, allow_pickle=False)
        tmp.replace(path)
    except OSError:  # a cache: computed again next time
        tmp.unlink(missing_ok=True)
    return digests


def fingerprinted_batches(batches: Iterable[pa.RecordBatch], spec: FingerprintSpec, *, secret: bytes,
                          buyer: str, digests: npt.NDArray[np.uint8] | None = None) -> Iterator[pa.RecordBatch]:
    """The batches with ``buyer``'s fingerprint; ``digests`` (if given) cover every row, in order.

    The next batch is marked in a helper thread while the caller writes the current one (NumPy,
    Arrow and OpenSSL release the GIL for their work), so marking overlaps writing.
    """
    def mark(batch: pa.RecordBatch, start: int) -> list[pa.RecordBatch]:
        part = None if digests is None else digests[start:start + batch.num_rows]
        if part is not None and len(part) != batch.num_rows:
            raise RuntimeError("the prepared row digests do not cover the delivered rows")
        return embed(pa.Table.from_batches([batch]), spec, secret=secret, buyer=buyer, digests=part).to_batches()

    start = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprint") as pool:
        pending: Future[list[pa.RecordBatch]] | None = None
        for batch in batches:
            job = pool.submit(mark, batch, start)
            start += batch.num_rows
            if pending is not None:
                yield from pending.result()
            pending = job
        if pending is not None:
            yield from pending.result()


def fingerprinted_file(masked: Path, fmt: str, spec: FingerprintSpec, *, secret: bytes, buyer: str,
                       sheet: str = "数据", rows: int | None = None) -> IO[bytes]:
    """The buyer's copy of the masked file ``masked`` as one spooled ``fmt`` file."""
    schema = layout([masked]).schema
    check_spec(spec, schema)
    digests = prepared_digests(masked, spec, secret)
    batches = fingerprinted_batches(iter_batches([masked]), spec, secret=secret, buyer=buyer, digests=digests)
    return write_file(fmt, schema, batches, sheet=sheet, rows=rows if rows is not None else len(digests))

