"""Query results holding dates Python cannot hold, found by the adversarial sweep (2026-12-07).

``SELECT 'infinity'::TIMESTAMP``, a date past the year 9999 or DuckDB's ``-infinity`` date —
valid DuckDB values — made the JSON page fail with the catch-all OverflowError answer
"数值超出范围：整数参数不能超过 9223372036854775807", which says nothing about the query.
The page now shows them as text (``infinity``, ``-infinity``, ``10009-12-31 …``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from shudata.core.types import Actor, Role


@pytest.fixture
def user(make_department: Callable[..., int], make_user: Callable[..., Actor],
         token_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    make_user("qv_user", Role.DEPT_USER, department_id=make_department())
    return token_for("qv_user")


@pytest.mark.parametrize(("expr", "shown"), [
    ("'infinity'::TIMESTAMP", "infinity"),
    ("'-infinity'::TIMESTAMP", "-infinity"),
    ("'-infinity'::DATE", "-infinity"),
    ("DATE '9999-12-31' + INTERVAL 10 YEAR", "10009-12-31 00:00:00.000000"),
    ("TIMESTAMP '2024-01-02 03:04:05'", "2024-01-02T03:04:05"),  # in range: unchanged
])
def test_out_of_range_dates_are_shown_as_text(client: TestClient, user: dict[str, str], expr: str,
                                              shown: str) -> None:
    r = client.post("/api/v1/query", json={"sql": f"SELECT {expr} AS t, 1 AS n"}, headers=user)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["rows"] == [[shown, 1]]


def test_workbench_run_shows_them_too(client: TestClient, user: dict[str, str]) -> None:
    r = client.post("/api/v1/query/runs", json={"sql": "SELECT 'infinity'::TIMESTAMP AS t"}, headers=user)
    assert r.status_code == 200, r.text[:300]
    assert "infinity" in r.text
