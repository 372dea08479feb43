"""The engine-neutral interface every query engine implements.

Callers give the SQL (already checked and rewritten by the sandbox, in the engine's
``dialect``) and the tables it may read, each bound to the Parquet files of one lake
version. Engines must not read anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa


def view_name(secret: str, files: Sequence[Path]) -> str:
    """The internal name of the view over ``files``: keyed by the platform secret, so a
    caller cannot guess it, and stable, so queries over the same version share the engine's
    prepared database (the sandbox refuses every name that is not a catalog resource anyway).

    >>> view_name("k", [Path("/lake/r1/v1/part-0.parquet")]) == view_name("k", [Path("/lake/r1/v1/part-0.parquet")])
    True
    >>> view_name("k", [Path("/a")]) != view_name("other", [Path("/a")])
    True
    """
    data = "\0".join(str(f) for f in files).encode()
    return "t_" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class TableSource:
    """A table visible to one query: the Parquet files of one dataset version."""

    name: str
    files: Sequence[Path]
    columns: Sequence[str] | None = None  # visible columns; None = all
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScalarUdf:
    """A vectorised scalar function the SQL may call by ``name`` (e.g. keyed pseudonyms).

    ``fn`` takes one Arrow array per argument and returns an Arrow array of the same
    length (never a Python loop per row). Types are SQL type names understood by every
    engine: ``VARCHAR``, ``BIGINT``, ``DOUBLE``, ``DATE``, ``BOOLEAN``.
    """

    name: str
    fn: Callable[..., pa.Array]
    arg_types: tuple[str, ...]
    return_type: str


class Cancel:
    """A handle to stop a running statement from another thread (the workbench's cancel button).

    The engine binds its way of stopping the statement (DuckDB: ``interrupt()`` on the
    connection) while the statement runs; :meth:`cancel` calls it. A handle cancelled before a
    statement starts stops that statement as soon as it is bound.

    >>> c = Cancel()
    >>> stopped = []
    >>> unbind = c.bind(lambda: stopped.append(1))
    >>> c.cancel(), stopped, c.cancelled
    (True, [1], True)
    >>> unbind(); c.cancel()
    False
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stops: list[Callable[[], None]] = []
        self.cancelled = False

    def bind(self, stop: Callable[[], None]) -> Callable[[], None]:
        """Register ``stop`` while a statement runs; returns the function that unregisters it."""
        with self._lock:
            self._stops.append(stop)
            late = self.cancelled
        if late:
            stop()

        def unbind() -> None:
            with self._lock:
                if stop in self._stops:
                    self._stops.remove(stop)

        return unbind

    def cancel(self) -> bool:
        """Stop the statements bound now (and any bound later); whether one was running."""
        with self._lock:
            self.cancelled = True
            stops = list(self._stops)
        for stop in stops:
            stop()
        return bool(stops)


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 30.0
    max_rows: int | None = None
    cancel: Cancel | None = None  # lets another thread stop the statement (409 ``query_cancelled``)


class EngineSession(Protocol):
    """Several statements over the same tables, in one engine session (one connection)."""

    def query(self, sql: str, max_rows: int | None = None) -> pa.Table:
        """Run ``sql`` (time limit of the session) and return at most ``max_rows`` rows."""
        ...


class Engine(Protocol):
    name: str
    dialect: str  # sqlglot dialect name

    def session(self, tables: Mapping[str, TableSource], limits: Limits = ...
                ) -> AbstractContextManager[EngineSession]:
        """Open one session over ``tables``; statements in it share the setup cost."""
        ...

    def query(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = ...) -> pa.Table:
        """Run ``sql`` and return the whole result (at most ``limits.max_rows`` rows)."""
        ...

    def stream(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = ...,
               batch_rows: int = ...) -> Iterator[pa.RecordBatch]:
        """Run ``sql`` and yield the result in Arrow batches."""
        ...

    def copy_to_parquet(self, sql: str, tables: Mapping[str, TableSource], dest: Path,
                        limits: Limits = ...) -> int:
        """Write the result of ``sql`` to a Parquet file at ``dest``; return the row count."""
        ...


class UdfEngine(Engine, Protocol):
    """An engine that can register extra vectorised functions (masking's keyed pseudonyms)."""

    def with_udfs(self, udfs: tuple[ScalarUdf, ...]) -> UdfEngine:
        """The same engine with ``udfs`` callable from its SQL."""
        ...
