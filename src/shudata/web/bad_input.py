"""Input no handler validated well enough: 4xx answers instead of 500s (issue #14 item 11).

* ``OverflowError`` — an integer too large for the metadata store (SQLite binds at most
  64-bit integers; ``/api/v1/x/18446744073709551616``, ``?offset=1e30`` as digits) → 422;
* ``sqlalchemy.exc.DataError`` — PostgreSQL refusing a value (numeric out of range, an
  OFFSET that is not a bigint) → 422;
* ``sqlalchemy.exc.IntegrityError`` — two requests racing past a service's check for a
  duplicate (the same resource code, saved-query name or catalog revision sent at once):
  the later one breaks the store's unique (or foreign-key) constraint → 409, nothing of it kept;
  a NOT NULL or CHECK violation is a value validation let through → 422, logged as an error;
* ``RecursionError`` — a JSON document nested too deeply for the parser → 400;
* ``zipfile.BadZipFile`` — an upload that claims to be XLSX (starts ``PK\\x03\\x04``) but is
  not a readable ZIP, where a reader did not check it itself → 422;
* ``xml.etree.ElementTree.ParseError`` — an XLSX whose parts are not well-formed XML (damaged,
  or built to expand entities: a "billion laughs" part), where a reader did not check it
  itself → 422.

Each answer has the app's usual error body and is audited like any other refusal. The
traceback is logged at warning level: the input was bad, but the handler that let it
reach the store may want a sharper check.
"""

from __future__ import annotations

import logging
import zipfile
from xml.etree.ElementTree import ParseError

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.concurrency import run_in_threadpool

from shudata.web.errors import error_response

log = logging.getLogger("shudata.web.bad_input")


async def _answer(request: Request, exc: BaseException, status: int, code: str, zh: str, en: str) -> Response:
    log.warning("%s %s: %s answered %d", request.method, request.url.path, type(exc).__name__, status,
                exc_info=(type(exc), exc, exc.__traceback__))
    return await run_in_threadpool(error_response, request, status, code, zh, en)


def violation(exc: IntegrityError) -> str:
    """Which constraint the store refused: ``unique`` or ``foreign_key`` (two requests racing past a
    service's check: a conflict) or ``other`` (NOT NULL, CHECK: a value validation let through), from
    PostgreSQL's SQLSTATE or SQLite's message.

    >>> import sqlite3
    >>> violation(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: t.code")))
    'unique'
    >>> violation(IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL constraint failed: t.name")))
    'other'
    """
    state = getattr(exc.orig, "sqlstate", None)
    text = str(exc.orig)
    if state == "23505" or text.startswith("UNIQUE constraint failed"):
        return "unique"
    if state == "23503" or text.startswith("FOREIGN KEY constraint failed"):
        return "foreign_key"
    return "other"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        return await _answer(request, exc, 422, "number_out_of_range",
                             "数值超出范围：整数参数不能超过 9223372036854775807（2^63 − 1）",
                             "Number out of range: integer parameters cannot exceed 9223372036854775807 (2^63 - 1)")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        return await _answer(request, exc, 422, "invalid_value", "参数值无效或超出范围，请检查数字和日期",
                             "A value is invalid or out of range; check numbers and dates")

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        if violation(exc) in ("unique", "foreign_key"):
            return await _answer(request, exc, 409, "concurrent_conflict",
                                 "与同时进行的另一项修改冲突（如同一代码或名称），本次请求未生效；请刷新后重试",
                                 "Conflicts with another change made at the same time (the same code or name); "
                                 "nothing was changed, reload and retry")
        # NOT NULL / CHECK: a value the service's own validation should have refused (a gap to fix,
        # logged as an error), not a race: retrying would fail the same way.
        log.error("%s %s: a store constraint refused a value the validation let through: %s",
                  request.method, request.url.path, exc.orig)
        return await _answer(request, exc, 422, "invalid_value",
                             "缺少必填的值，或某个值不被允许；本次请求未生效，请检查填写的内容",
                             "A required value is missing or a value is not allowed; nothing was changed, "
                             "check what was entered")

    @app.exception_handler(zipfile.BadZipFile)
    async def _bad_zip(request: Request, exc: zipfile.BadZipFile) -> Response:
        return await _answer(request, exc, 422, "bad_file", "文件已损坏，或不是有效的 XLSX 文件",
                             "The file is damaged or not a valid XLSX file")

    @app.exception_handler(ParseError)
    async def _bad_xml(request: Request, exc: ParseError) -> Response:
        return await _answer(request, exc, 422, "bad_file",
                             "文件已损坏：其中的 XML 无效；请用 Excel/WPS 另存后重新上传",
                             "The file is damaged: its XML is invalid; save it again and upload it")

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> Response:
        return await _answer(request, exc, 400, "too_deeply_nested", "请求内容嵌套层数过深",
                             "The request is nested too deeply")
