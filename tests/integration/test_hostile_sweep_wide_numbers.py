"""Wide numbers shown wrong, found by the adversarial sweep (2026-12-07).

``SELECT 1::UHUGEINT * 340282366920938463463374607431768211455`` showed ``-1``: DuckDB's Arrow
export carries UHUGEINT as a *signed* decimal128(38, 0), so every value from 2**127 on wrapped
round, in the JSON page, the workbench, CSV and XLSX alike; a VARINT (BIGNUM) arrived as DuckDB's
internal bytes (base64 in JSON, ``b'\\x80…'`` in CSV). Such columns now leave the engine as their
exact text. XLSX held a second loss: openpyxl writes every number as a double, so DECIMAL(38)'s
99…9 became 1E+38, HUGEINT's extremes 1.70141183460469E+38 and a BIGINT of 17 digits lost its
last ones; numbers a spreadsheet cannot hold exactly (more than 15 significant digits) are now
written as their exact text. The JSON pages of versions and deliveries wrote decimals as doubles
(rounded the same way); they now write them as text when a double would not hold them.
"""

from __future__ import annotations

import decimal
import io
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from shudata.core.types import Actor, Role
from shudata.lake.export import page_json

U128_MAX = "340282366920938463463374607431768211455"
I128_MAX = "170141183460469231731687303715884105727"
I128_MIN = "-170141183460469231731687303715884105728"
D38_MAX = "9" * 38


@pytest.fixture
def user(make_department: Callable[..., int], make_user: Callable[..., Actor],
         token_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    make_user("wide_user", Role.DEPT_USER, department_id=make_department())
    return token_for("wide_user")


CASES = [  # (expression, its exact value as text)
    (f"1::UHUGEINT * {U128_MAX}::UHUGEINT", U128_MAX),  # the sweep's -1
    (f"{U128_MAX}::UHUGEINT", U128_MAX),
    ("170141183460469231731687303715884105728::UHUGEINT", "170141183460469231731687303715884105728"),  # 2**127
    (f"{I128_MAX}::HUGEINT", I128_MAX),
    (f"({I128_MIN[:-1]}7)::HUGEINT - 1", I128_MIN),
    (f"{D38_MAX}::DECIMAL(38,0)", D38_MAX),
    (f"-{D38_MAX}::DECIMAL(38,0)", f"-{D38_MAX}"),
    ("-9999999999999999999999999999.9999999999::DECIMAL(38,10)", "-9999999999999999999999999999.9999999999"),
    (f"{'1234567890' * 5}::VARINT", "1234567890" * 5),
]


def _query(client: TestClient, user: dict[str, str], expr: str, fmt: str | None = None) -> Any:
    params = {"format": fmt} if fmt else None
    r = client.post("/api/v1/query", json={"sql": f"SELECT {expr} AS x, 7 AS n"}, headers=user, params=params)
    assert r.status_code == 200, r.text[:300]
    return r


@pytest.mark.parametrize(("expr", "exact"), CASES)
def test_json_page_and_workbench_show_the_exact_value(client: TestClient, user: dict[str, str], expr: str,
                                                      exact: str) -> None:
    assert _query(client, user, expr).json()["rows"] == [[exact, 7]]
    r = client.post("/api/v1/query/runs", json={"sql": f"SELECT {expr} AS x, 7 AS n"}, headers=user)
    assert r.status_code == 200 and r.json()["rows"] == [[exact, 7]]


@pytest.mark.parametrize(("expr", "exact"), CASES)
def test_csv_holds_the_exact_value(client: TestClient, user: dict[str, str], expr: str, exact: str) -> None:
    assert _query(client, user, expr, "csv").content.decode("utf-8-sig").splitlines() == ["x,n", f"{exact},7"]


@pytest.mark.parametrize(("expr", "exact"), [*CASES, ("12345678901234567::BIGINT", "12345678901234567")])
def test_xlsx_holds_the_exact_value(client: TestClient, user: dict[str, str], expr: str, exact: str) -> None:
    ws = load_workbook(io.BytesIO(_query(client, user, expr, "xlsx").content)).active
    assert ws is not None
    assert [[c.value for c in row] for row in ws.iter_rows()] == [["x", "n"], [exact, 7]]


@pytest.mark.parametrize(("expr", "number"), [
    ("123456789012345::BIGINT", 123456789012345),  # 15 digits: still a number
    ("10::BIGINT ** 18", 1e18),  # one significant digit
    ("12.5::DECIMAL(38,2)", 12.5),
])
def test_xlsx_keeps_numbers_a_spreadsheet_holds_exactly_as_numbers(client: TestClient, user: dict[str, str],
                                                                   expr: str, number: float) -> None:
    ws = load_workbook(io.BytesIO(_query(client, user, expr, "xlsx").content)).active
    assert ws is not None
    value = ws.cell(2, 1).value
    assert isinstance(value, int | float) and value == number


def test_version_and_delivery_pages_do_not_round_wide_decimals() -> None:
    wide = f"{D38_MAX[:36]}.99"
    t = pa.table({"d": pa.array([decimal.Decimal(wide), decimal.Decimal("1.50")], pa.decimal128(38, 2))})
    body = json.loads(page_json(t, total=2, offset=0, limit=2, version=1))
    assert body["rows"] == [[wide], [1.5]]  # exact text where a double would round
