"""The peers a bench compares against, each in its own virtualenv, created on first use.

A bench never installs a peer into the project's ``.venv`` and never asks the reader to set one
up by hand: :func:`ensure` creates ``bench/.venv-NAME`` (git-ignored) with the pinned packages
when it is missing or was left half-built, and returns its Python. A stamp file written after a
successful install tells a finished venv from an interrupted one. Creating one needs the package
index (PyPI or its mirror), as ``make dev-venv`` does.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> requirements: the peer at its current release, bounded to the API the bench's worker
# code uses (figures in README/docs name the versions they were measured with)
PEERS: dict[str, tuple[str, ...]] = {
    "datasette": ("datasette>=0.65,<1",),
    "presidio": ("presidio-analyzer>=2.2,<3", "presidio-anonymizer>=2.2,<3", "presidio-structured>=0.0.6",
                 "pandas>=2.2", "pyarrow>=15"),
    "pandera": ("pandera>=0.24,<1", "pandas>=2.2", "pyarrow>=15"),  # pandera.pandas appeared in 0.24
    "gx": ("great_expectations>=1.0,<2", "pandas>=2.2", "pyarrow>=15"),  # the 1.x fluent API
    "delta-sharing": ("delta-sharing==1.4.2",),  # as the Makefile's `clients` target
}


def location(name: str) -> Path:
    """Where the peer's venv lives (the delta-sharing client is the test suite's, ``make clients``)."""
    if name == "delta-sharing":
        return HERE.parent / "tests" / ".venv-delta-sharing"
    return HERE / f".venv-{name}"


def ensure(name: str, *, quiet: bool = False) -> Path:
    """The Python of peer ``name``'s venv, creating it (with :data:`PEERS`' packages) when missing."""
    root = location(name)
    python = root / "bin" / "python"
    stamp = root / ".installed"
    if python.exists() and stamp.exists():
        return python
    if not quiet:
        print(f"# creating {root.relative_to(HERE.parent)} for the peer {name}: pip install "
              f"{' '.join(PEERS[name])} (once)", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=not stamp.exists() and root.exists()).create(root)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PEERS[name]],
                   check=True)
    stamp.touch()
    return python


if __name__ == "__main__":  # python bench/_peers.py [NAME …]: create them ahead of a run
    for peer in sys.argv[1:] or list(PEERS):
        print(ensure(peer))
