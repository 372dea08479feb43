"""``web/`` only parses requests, calls use cases and maps errors (architecture conventions 1
and 2): no ``commit()``, no SQL statements built or executed in a route module. The request's
transaction is committed once, by ``SessionDep`` (:func:`shudata.web.deps.get_session`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[3] / "src" / "shudata" / "web"
SQL_BUILDERS = {"select", "update", "insert", "delete", "text", "func", "union", "exists"}
SQL_CALLS = {"commit", "execute", "scalar", "scalars", "exec_driver_sql"}

# (module, what) pairs that stay, each with its reason
ALLOWED = {
    # SessionDep itself: the one commit of every request's transaction, after the handler returned
    ("deps.py", ".commit()"),
    # the health check probes the database connection itself (SELECT 1 on a raw connection, no data)
    ("api/v1/health.py", "sqlalchemy.text"),
    ("api/v1/health.py", ".execute()"),
}


def _modules() -> list[Path]:
    return sorted(p for p in WEB.rglob("*.py") if "static" not in p.parts and "templates" not in p.parts)


def findings(path: Path) -> set[tuple[str, str, int]]:
    """``(what, line)`` of each commit, statement builder or statement execution in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    sql_names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    sql_names[alias.asname or alias.name] = f"sqlalchemy.{alias.name}"
    out: set[tuple[str, str, int]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        if isinstance(fn, ast.Name) and fn.id in sql_names:
            out.add((sql_names[fn.id], ast.unparse(node)[:80], node.lineno))
        elif isinstance(fn, ast.Attribute) and fn.attr in SQL_CALLS:
            out.add((f".{fn.attr}()", ast.unparse(node)[:80], node.lineno))
        elif isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) and fn.value.id in sql_names:
            out.add((sql_names[fn.value.id], ast.unparse(node)[:80], node.lineno))  # func.count(...)
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(WEB)))
def test_no_commit_and_no_sql_in_web(path: Path) -> None:
    rel = str(path.relative_to(WEB))
    found = sorted((line, what, code) for what, code, line in findings(path) if (rel, what) not in ALLOWED)
    assert not found, (f"{rel}: move these into a service / portal.logic function "
                       f"(SessionDep commits the request's transaction): {found}")


def test_the_scan_finds_what_it_forbids(tmp_path: Path) -> None:
    route = tmp_path / "route.py"
    route.write_text("from sqlalchemy import func, select\n"
                     "def page(session):\n"
                     "    n = session.scalar(select(func.count()))\n"
                     "    session.commit()\n", encoding="utf-8")
    assert {what for what, _, _ in findings(route)} == {"sqlalchemy.select", "sqlalchemy.func", ".scalar()",
                                                         ".commit()"}


def test_every_allowed_exception_is_still_needed() -> None:
    for rel, what in ALLOWED:
        assert what in {w for w, _, _ in findings(WEB / rel)}, f"{rel}: {what} is gone; drop it from ALLOWED"
