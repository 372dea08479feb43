"""Shared CLI plumbing: the runtime, the acting principal, error reporting with exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from shudata.audit.events import Refused
from shudata.audit.ledger import record_separately
from shudata.core.config import Settings
from shudata.core.errors import ShudataError
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.db.session import StoreUnavailable

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = {400: 2, 401: 3, 403: 3, 404: 4, 408: 5, 409: 6, 413: 7, 415: 2, 422: 2, 429: 8}
EXIT_STORE_UNAVAILABLE = 9


def store_unavailable(exc: StoreUnavailable) -> typer.Exit:
    """Say in one line (Chinese, then English) that the metadata database is out of reach and
    what to check; the exit to raise (no traceback)."""
    typer.echo(f"错误 {exc.zh} / {exc.en}", err=True)
    return typer.Exit(EXIT_STORE_UNAVAILABLE)


def runtime() -> Runtime:
    """Build the runtime from the environment and bring the schema up to date; an unreachable
    metadata database ends the command with one line and exit code 9."""
    try:
        rt = Runtime.build(Settings())
    except StoreUnavailable as exc:
        raise store_unavailable(exc) from None
    try:
        rt.migrate()
    except StoreUnavailable as exc:
        rt.close()
        raise store_unavailable(exc) from None
    return rt


def cli_actor() -> Actor:
    """The CLI runs as the platform itself (an operator at the console of the node)."""
    return Actor.system()


def handle_errors(fn: F) -> F:
    """Print ShudataError messages in Chinese (and English) and exit non-zero; audit refusals."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StoreUnavailable as exc:
            raise store_unavailable(exc) from None
        except DBAPIError as exc:
            if not exc.connection_invalidated and not _is_connect_error(exc):
                raise
            settings = Settings()
            raise store_unavailable(StoreUnavailable(settings.resolved_database_url, exc)) from None
        except ShudataError as exc:
            err_console.print(f"[bold red]错误[/] {exc.zh}\n[dim]{exc.en}[/]")
            try:
                rt = Runtime.build(Settings())
                d = exc.details if isinstance(exc.details, dict) else {}
                record_separately(rt.engine, cli_actor(), Refused(
                    action=str(d.get("action") or f"cli.{fn.__name__}"), outcome="rejected",
                    resource_id=d.get("resource_id"), details={"code": exc.code, "message": exc.zh[:500]}))
                rt.close()
            except Exception:  # the store itself may be the problem
                pass
            sys.exit(EXIT_CODES.get(exc.status, 1))

    return wrapper  # type: ignore[return-value]


def _is_connect_error(exc: DBAPIError) -> bool:
    """Whether ``exc`` says the database went away (server closed, refused, unreachable)."""
    text = str(exc.orig).lower()
    return any(s in text for s in ("connection refused", "could not connect", "connection failed",
                                   "server closed the connection", "unable to open database file",
                                   "terminating connection", "connection is closed"))
