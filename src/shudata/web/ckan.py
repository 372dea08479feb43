"""The CKAN-compatible Action API at ``/api/action/{name}`` and ``/api/3/action/{name}``.

GET (query string) and POST (JSON body or form) both work; answers use CKAN's envelope
``{"help", "success", "result"}`` and its error form ``{"help", "success": false,
"error": {"__type", "message"}}`` — so ``ckanapi``, CKAN harvesters and scripts written
for CKAN work unchanged. Errors keep the app's audit (every refusal is recorded through
:func:`shudata.web.errors.error_response`). API keys are read raw from ``X-CKAN-API-Key``
or ``Authorization`` (developer keys ``sdk_…``).

The actions themselves are :mod:`shudata.portal.logic` (the same functions the CLI's
``shudata portal action`` calls); this module only reads the request into
:class:`~shudata.portal.logic.params.Params` and a
:class:`~shudata.portal.logic.context.Context`, calls the action and writes CKAN's envelope.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.core.errors import BadRequest, NotFound, PermissionDenied, ShudataError, Unauthenticated
from shudata.core.types import Actor
from shudata.portal.logic.context import Context
from shudata.portal.logic.datastore import encode_result
from shudata.portal.logic.params import Params
from shudata.portal.logic.registry import get_action
from shudata.web.deps import SessionDep, SettingsDep, client_ip, get_lang
from shudata.web.errors import error_response

router = APIRouter(tags=["CKAN Action API"])


async def _params(request: Request) -> Params:
    values: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return Params(values)
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            values.update({k: v for k, v in form.items() if isinstance(v, str)})
        else:
            body = await request.body()
            if body.strip():
                data = json.loads(body)
                if not isinstance(data, dict):
                    return Params(values, "请求体应为 JSON 对象 / the body must be a JSON object")
                values.update(data)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deeply
        return Params(values, "请求体不是有效的 JSON / the body is not valid JSON")
    return Params(values)


ParamsDep = Annotated[Params, Depends(_params)]


# -- envelope and errors ----------------------------------------------------------------------

def _ckan_error(exc: ShudataError) -> tuple[int, str]:
    """CKAN's error type and status for a refusal."""
    if isinstance(exc, NotFound):
        return 404, "Not Found Error"
    if isinstance(exc, PermissionDenied | Unauthenticated):
        return 403, "Authorization Error"
    if isinstance(exc, BadRequest) and exc.code == "search_query_error":
        return 400, "Search Query Error"
    if exc.status in (408, 413, 429):
        return exc.status, "Validation Error"
    return 409, "Validation Error"


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(encode_result(body), status_code=status, media_type="application/json;charset=utf-8",
                    headers=headers)


def _help(request: Request, name: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={name}"


def _refuse(request: Request, name: str, exc: ShudataError) -> Response:
    status, kind = _ckan_error(exc)
    details = exc.details if isinstance(exc.details, dict) else {}
    details = {"action": f"portal.api.{name}", **{k: v for k, v in details.items() if v is not None}}
    error_response(request, status, exc.code, exc.zh, exc.en, details)  # the app's audit of refusals
    message = exc.en if get_lang(request) == "en" else exc.zh
    error: dict[str, Any] = {"__type": kind, "message": f"{kind}: {message}"}
    if kind == "Validation Error" and details.get("field"):
        error[str(details["field"])] = [message]
    retry = getattr(exc, "retry_after", None)  # a quota that says when it resets: Retry-After, as on 429s
    return _json({"help": _help(request, name), "success": False, "error": error}, status,
                 {"Retry-After": str(retry)} if retry is not None else None)


def _call(name: str, request: Request, session: Session, settings: Settings, params: Params) -> Response:
    request.state.actor = Actor.anonymous(client_ip(request))
    try:
        fn = get_action(name)  # an unknown name, then an unreadable body, are refused before the key is read
        params.check()
        raw_key = request.headers.get("x-ckan-api-key") or request.headers.get("authorization")
        ctx = Context.build(session=session, settings=settings, name=name, raw_key=raw_key,
                            ip=client_ip(request), base_url=str(request.base_url), path=request.url.path)
        request.state.actor = ctx.actor
        result = fn(ctx, params)
    except ShudataError as exc:
        session.rollback()  # nothing of a refused call is kept (its audit is written separately)
        return _refuse(request, name, exc)
    return _json({"help": _help(request, name), "success": True, "result": result})


def action(name: str, request: Request, session: SessionDep, settings: SettingsDep, params: ParamsDep) -> Response:
    """``status_show``、``package_list``、``package_search``、``package_show``、``resource_show``、
    ``current_package_list_with_resources``、``package_autocomplete``、``resource_search``、
    ``package_activity_list``、``organization_list``、``organization_show``、``group_list``、
    ``group_show``、``tag_list``、``tag_show``、``license_list``、``datastore_search``、
    ``datastore_search_sql``、``help_show``。"""
    return _call(name, request, session, settings, params)


def api_version() -> Response:
    """``GET /api/3``: the Action API version, as CKAN answers it (clients probe it)."""
    return _json({"version": 3})


for _version_path in ("/api/3", "/api/3/"):
    router.add_api_route(_version_path, api_version, methods=["GET"], summary="CKAN API 版本 / CKAN API version",
                         operation_id="ckan_api_version" + ("_slash" if _version_path.endswith("/") else ""))

for _path, _version, _summary in (
        ("/api/action/{name}", "action", "CKAN 兼容 Action API / CKAN Action API"),
        ("/api/3/action/{name}", "action3", "CKAN 兼容 Action API（第 3 版路径）/ CKAN Action API (v3 path)")):
    for _method in ("GET", "POST"):  # one operation id each (OpenAPI wants them unique)
        router.add_api_route(_path, action, methods=[_method], summary=_summary,
                             operation_id=f"ckan_{_version}_{_method.lower()}")
