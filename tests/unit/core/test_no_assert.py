"""No ``assert`` checks anything at runtime in src/shudata: ``python -O`` strips them, so a check that
matters raises a proper error (an invariant that breaks is a bug: ``RuntimeError``/``TypeError``), and
a hint only for the type checker is a ``typing.cast`` or an ``if … is None`` narrowing. Doctests may
assert; they are strings, not statements, so this walk never sees them."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "shudata"


def _asserts() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [f"{path.relative_to(SRC)}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    return found


def test_src_has_no_assert_statement() -> None:
    assert _asserts() == [], "replace these asserts with an explicit check that raises"
