"""Small helpers for page routes: render a template, redirect, flash a message, explain errors."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask

from shudata.core import validation
from shudata.core.i18n import tr
from shudata.core.validation import field_path
from shudata.web.errors import audit_refusal
from shudata.web.middleware import SAFE_METHODS


def render(request: Request, name: str, ctx: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """Render ``name`` (a path under templates/) with the shared context.

    A submission the page refuses (a 4xx answer to a POST: the form shown again with its errors)
    is recorded in the audit trail as the API records the same refusal, after the answer is sent
    (in a worker thread). Failed logins (401, 429) have audit events of their own."""
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(request, name, ctx or {}, status_code=status_code)
    if 400 <= status_code < 500 and status_code not in (401, 429) and request.method not in SAFE_METHODS:
        code = "invalid_input" if status_code == 422 else f"http_{status_code}"
        response.background = BackgroundTask(audit_refusal, request, status_code, code, _said(ctx or {}))
    return response


def _said(ctx: dict[str, Any]) -> str:
    """What a refused form's page tells the person (its ``errors`` or ``error``), for the audit trail.

    >>> _said({"errors": ["title：必填项，不能为空", "purpose：文本太长"]}), _said({"error": "名称重复"}), _said({})
    ('title：必填项，不能为空；purpose：文本太长', '名称重复', '')
    """
    errors = ctx.get("errors") or ctx.get("error") or ""
    return "；".join(str(e) for e in errors) if isinstance(errors, list | tuple) else str(errors)


def redirect(url: str) -> Response:
    """POST-redirect-GET."""
    return RedirectResponse(url, status_code=303)


def flash(request: Request, level: str, zh: str, en: str) -> None:
    """Queue a message for the next page (``level`` is a Bootstrap alert colour)."""
    request.session.setdefault("flash", [])
    request.session["flash"] = [*request.session["flash"], (level, zh, en)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def validation_messages(exc: ValidationError, lang: str) -> list[str]:
    """Readable lines for a form that did not validate (field: reason)."""
    lines = []
    for err in exc.errors():
        loc, msg = field_path(err.get("loc", ())), validation.message(err, lang)
        lines.append((f"{loc}: {msg}" if lang == "en" else f"{loc}：{msg}") if loc else msg)
    return lines or [tr(lang, "输入有误", "Invalid input")]


def blank_to_none(value: str | None) -> str | None:
    """Form fields arrive as "" when left empty.

    >>> blank_to_none("  "), blank_to_none(" a ")
    (None, 'a')
    """
    if value is None:
        return None
    value = value.strip()
    return value or None


def page_window(total: int, offset: int, limit: int) -> dict[str, int]:
    """Numbers for a pager.

    >>> page_window(95, 40, 20)
    {'page': 3, 'pages': 5, 'prev': 20, 'next': 60, 'offset': 40, 'limit': 20, 'total': 95}
    """
    pages = max(1, -(-total // limit))
    page = offset // limit + 1
    return {"page": page, "pages": pages, "prev": max(0, offset - limit),
            "next": offset + limit if offset + limit < total else -1, "offset": offset, "limit": limit,
            "total": total}
