"""Where lake data lives on disk.

::

    <lake_dir>/
      _staging/<pid>-<token>/            being written (never read)
      r/<resource_id>/v000003-<token>/   one published version (immutable)
          part-00000.parquet …

A version directory is published by an atomic ``rename`` from staging; the database
row that makes it visible is committed afterwards. Directory names carry a random
token, so a directory orphaned by a crash never blocks the next version number.

>>> version_dirname(3, "ab12")
'v000003-ab12'
>>> parse_version_dirname("v000003-ab12")
3
>>> parse_version_dirname("tmp") is None
True
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

STAGING = "_staging"
RESOURCES = "r"
PART_GLOB = "part-*.parquet"
_VERSION_DIR_RE = re.compile(r"^v(\d{6,})-[0-9a-f]+$")


def staging_root(lake_dir: Path) -> Path:
    return lake_dir / STAGING


def resource_root(lake_dir: Path, resource_id: int) -> Path:
    return lake_dir / RESOURCES / str(int(resource_id))


def version_dirname(version: int, token: str) -> str:
    return f"v{version:06d}-{token}"


def parse_version_dirname(name: str) -> int | None:
    m = _VERSION_DIR_RE.match(name)
    return int(m.group(1)) if m else None


def new_staging_dir(lake_dir: Path) -> Path:
    """A fresh, empty staging directory named after this process (for stale-dir cleanup)."""
    root = staging_root(lake_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{os.getpid()}-{secrets.token_hex(6)}"
    path.mkdir()
    return path


def staging_pid(path: Path) -> int | None:
    """The pid encoded in a staging directory name.

    >>> staging_pid(Path("/x/_staging/123-abcdef"))
    123
    """
    head = path.name.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def new_version_path(lake_dir: Path, resource_id: int, version: int) -> Path:
    return resource_root(lake_dir, resource_id) / version_dirname(version, secrets.token_hex(6))


def relative(lake_dir: Path, path: Path) -> str:
    """The storage path kept in the database (POSIX, relative to the lake)."""
    return path.relative_to(lake_dir).as_posix()


def resolve(lake_dir: Path, storage_path: str) -> Path:
    """The absolute directory of ``storage_path``; refuses paths that leave the lake.

    >>> resolve(Path("/lake"), "r/1/v000001-aa").as_posix()
    '/lake/r/1/v000001-aa'
    """
    base = lake_dir.resolve()
    path = (base / storage_path).resolve()
    if base != path and base not in path.parents:
        raise ValueError(f"storage path {storage_path!r} leaves the lake")
    return path


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"
