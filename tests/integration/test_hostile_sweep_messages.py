"""Messages a person could not act on, left by the adversarial sweep (2026-12-07).

1. SQL that DuckDB's own parser rejects after sqlglot accepted it (``SELECT 1 AS ""``, 1,100
   chained additions) answered 403 ``sql_engine_refused`` — "the engine's safety check refused
   the query" — and was filed in the audit trail as a permission denial. It is a mistake in the
   statement: 422 with a message that says what to change, still audited (as rejected). Genuine
   sandbox refusals stay 403.
2. A grant's row filter with a syntax error showed sqlglot's internals ("Required keyword:
   'expression' missing for <class 'sqlglot.expressions.core.EQ'>"); an unclosed quote raised
   sqlglot's TokenError out of the service. Both are now 422 ``row_filter_syntax`` saying where
   and how a condition is written, in Chinese and English.
3. The CSRF refusal (403) and the 413 "too large" answers of the middlewares were Chinese only,
   whatever the caller asked for; they now follow the platform's language choice (``?lang=``,
   the ``lang`` cookie, Accept-Language), Chinese first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.errors import InvalidInput, ShudataError
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.sharing.filters import validate_row_filter

PASSWORD = "Corr3ct-horse-9"
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def user(make_department: Callable[..., int], make_user: Callable[..., Actor],
         token_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    make_user("msg_user", Role.DEPT_USER, department_id=make_department())
    return token_for("msg_user")


def _refusals(rt: Runtime, code: str) -> list[tuple[AuditEntry, dict[str, Any]]]:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        found = [(r, json.loads(r.details) if isinstance(r.details, str) else dict(r.details or {})) for r in rows]
        return [(r, d) for r, d in found if d.get("code") == code]


# -- 1. SQL DuckDB cannot read ----------------------------------------------------------------

@pytest.mark.parametrize(("sql", "code", "says_zh", "says_en"), [
    ('SELECT 1 AS ""', "sql_syntax_error", "别名", "alias"),  # an empty alias
    ("SELECT " + "+".join(["1"] * 1100), "sql_too_deep", "1000", "simplify"),  # flat for sqlglot, deep for DuckDB
])
def test_sql_duckdb_cannot_parse_is_422_with_an_actionable_message(
        client: TestClient, rt: Runtime, user: dict[str, str], sql: str, code: str, says_zh: str,
        says_en: str) -> None:
    before = len(_refusals(rt, code))
    r = client.post("/api/v1/query", json={"sql": sql}, headers=user)
    assert r.status_code == 422, r.text[:300]
    assert r.json()["error"]["code"] == code
    zh = r.json()["error"]["message"]
    assert says_zh in zh and "安全检查" not in zh and "SET max_expression_depth" not in zh
    r = client.post("/api/v1/query", json={"sql": sql}, headers={**user, **EN})
    assert r.status_code == 422 and says_en in r.json()["error"]["message"]
    refusals = _refusals(rt, code)
    assert len(refusals) == before + 2  # still audited, as a rejection rather than a denial
    assert refusals[-1][0].outcome == "rejected" and refusals[-1][0].action == "query.run"


@pytest.mark.parametrize(("sql", "status", "code"), [
    ("SELECT 'HOME'.getenv()", 403, "sql_engine_refused"),  # a denied function: still a refusal
    ("PRAGMA version", 403, "sql_engine_refused"),  # not a SELECT: still a refusal
    ('SELECT 1 AS ""', 422, "sql_syntax_error"),
    ("SELEC 1", 422, "sql_syntax_error"),
])
def test_the_engine_tells_a_refusal_from_sql_it_cannot_read(sql: str, status: int, code: str) -> None:
    with pytest.raises(ShudataError) as info:
        DuckDBEngine().query(sql, {})
    assert (info.value.status, info.value.code) == (status, code)


# -- 2. row filter syntax -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "where"), [
    ("城市 = ", "城市 ="),  # no value after the operator
    ("城市 = '成都' AND", "AND"),  # a dangling AND
    ("(城市 = '成都'", "成都"),  # an unclosed parenthesis
    ("城市 = '成都", "引号未闭合"),  # an unclosed quote (sqlglot's TokenError escaped before)
    ("   ", "条件为空"),
])
def test_row_filter_syntax_error_says_where_and_how_to_write_it(text: str, where: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_row_filter(text, ["城市", "年龄"])
    e = info.value
    assert (e.status, e.code) == (422, "row_filter_syntax")
    assert where in e.zh and "城市 = '成都' AND 年龄 >= 18" in e.zh
    assert e.en.startswith("The row filter is not a valid condition") and "single quotes" in e.en
    for internal in ("Required keyword", "<class", "sqlglot", "Expecting", "\x1b["):
        assert internal not in e.zh and internal not in e.en


# -- 3. middleware answers in the caller's language -------------------------------------------------

@pytest.fixture
def logged_in(client: TestClient, make_department: Callable[..., int], make_user: Callable[..., Actor]) -> Actor:
    user = make_user("msg_csrf", Role.DEPT_USER, department_id=make_department(), password=PASSWORD)
    r = client.post("/login", data={"username": "msg_csrf", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return user


@pytest.mark.parametrize(("how", "english"), [
    ({}, False),  # Chinese first
    ({"headers": EN}, True),
    ({"params": {"lang": "en"}}, True),
    ({"cookies": {"lang": "en"}}, True),
    ({"params": {"lang": "zh-CN"}, "headers": EN}, False),  # ?lang= beats Accept-Language
])
def test_csrf_refusal_follows_the_language_choice(client: TestClient, logged_in: Actor, how: dict[str, Any],
                                                  english: bool) -> None:
    cookies = how.get("cookies")
    if cookies:
        client.cookies.update(cookies)
    r = client.post("/tokens", data={"name": "csrf"}, headers=how.get("headers"), params=how.get("params"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    message = r.json()["error"]["message"]
    assert ("CSRF check failed" in message) is english and ("刷新页面" in message) is not english


@pytest.fixture
def small(rt: Runtime) -> Iterator[TestClient]:
    from shudata.web.app import create_app

    rt.settings = rt.settings.model_copy(update={"max_upload_mb": 1})
    with TestClient(create_app(runtime=rt, migrate=False)) as c:
        yield c


def _chunks() -> Iterator[bytes]:
    for _ in range(3):
        yield b"x" * (1024 * 1024)


@pytest.mark.parametrize("streamed", [False, True])  # a declared Content-Length, or a chunked body
@pytest.mark.parametrize("english", [False, True])
def test_too_large_answer_follows_the_language_choice(small: TestClient, streamed: bool, english: bool) -> None:
    headers = {"content-type": "application/json", **(EN if english else {})}
    body: Any = _chunks() if streamed else b"x" * (2 * 1024 * 1024)
    r = small.post("/api/v1/departments", content=body, headers=headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    message = r.json()["error"]["message"]
    if english:
        assert message.startswith("The upload is larger than the 1 MB limit") and "SHUDATA_MAX_UPLOAD_MB" in message
    else:
        assert "大小上限 1 MB" in message
