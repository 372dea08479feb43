"""The API documentation, served offline: ``/docs`` (Swagger UI), ``/redoc``, ``/openapi.json``.

Swagger UI and ReDoc come from ``/static/vendor`` (see its README), so the pages work on an
intranet with no internet access; the favicon is the platform's own.

The generated OpenAPI document is completed from what each route depends on, in one place
(:func:`complete_openapi`), instead of by hand per route:

* the ``bearer`` security scheme (API tokens): required where the route depends on
  :func:`shudata.web.deps.require_login`, optional where it reads the caller
  (:func:`shudata.web.deps.get_actor`: anonymous calls are allowed and served less);
* the platform's error body (``ErrorBody``: ``{"error": {"code", "message", "details"}}``)
  for the refusals a route can give: 401/403 where a caller is read, 404 where the path
  names something, 409 for writes to the metadata store, 413 where a body is sent, 422
  wherever input is parsed, 429 on the rate-limited public surfaces, the login throttle and the sharing quotas;
* the CKAN Action API's own error envelope (``CkanError``) and its API key scheme on its
  routes, which answer as CKAN does.

>>> error_statuses(frozenset({"get_actor", "require_login"}), "POST", "/api/v1/x/{id}", has_input=True)
[401, 403, 404, 409, 422]
>>> error_statuses(frozenset(), "GET", "/sitemap.xml", has_input=False)
[429]
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse

from shudata.web import routes as route_table
from shudata.web.ratelimit import PREFIXES as RATE_LIMITED_PREFIXES
from shudata.web.security_headers import DOCS_CSP

SWAGGER_JS = "/static/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "/static/vendor/swagger-ui/swagger-ui.css"
REDOC_JS = "/static/vendor/redoc/redoc.standalone.js"
FAVICON_SVG = "/static/img/favicon.svg"
TITLE = "蜀数 shudata 接口文档"

# Delivery routes that count against a grant's daily call and row quotas (sharing.delivery):
# quotas are checked inside the service, so no dependency shows them.
QUOTA_LIMITED = frozenset({
    ("GET", "/api/v1/shared/rows"),
    ("GET", "/api/v1/shared/changes"),
    ("POST", "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/query"),
})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The CKAN-compatible Action API answers every refusal in CKAN's own envelope (shudata.web.ckan).
CKAN_PREFIXES = ("/api/action/", "/api/3/action/")
CKAN_ERRORS = {
    400: "搜索条件有误（CKAN 的 Search Query Error）",
    403: "无权访问（CKAN 的 Authorization Error）：有条件开放的数据须带获批的开发者 API 密钥",
    404: "动作或对象不存在（CKAN 的 Not Found Error）",
    409: "参数有误（CKAN 的 Validation Error），`error` 中逐项说明",
    429: "超出频率限制：按响应头 `Retry-After`（秒）等待后重试",
}
CKAN_ERROR_BODY: dict[str, Any] = {
    "title": "CkanError",
    "description": "CKAN Action API 的错误格式（与 CKAN 相同，ckanapi 等客户端可直接识别）",
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "help": {"type": "string"},
        "success": {"type": "boolean", "const": False},
        "error": {"type": "object", "required": ["__type", "message"],
                  "properties": {"__type": {"type": "string", "examples": ["Not Found Error"]},
                                 "message": {"type": "string"}}},
    },
}

ERROR_TEXT = {
    401: "未登录或令牌无效、已过期、已吊销（请求头 `Authorization: Bearer <令牌>`）",
    403: "无权执行该操作（按角色、部门与授权判断），拒绝已记入审计",
    404: "路径所指的对象不存在，或对调用者不可见",
    409: "与现有状态冲突（重名、状态不允许该操作、版本已变化等），未做任何修改",
    413: "请求体超过大小上限（`SHUDATA_MAX_UPLOAD_MB`），未做任何处理",
    422: "输入有误：`details.problems` 逐项列出字段（`field`）与中文说明（`message`）",
    429: "超出频率或配额限制：按响应头 `Retry-After`（秒）等待后重试",
}

ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "description": "所有错误的统一格式；`message` 默认中文（`?lang=en` 或 `Accept-Language: en` 切换英文）",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "稳定的错误代码，如 `not_found`、`invalid_input`",
                     "examples": ["invalid_input"]},
            "message": {"type": "string", "description": "可据以处理的说明",
                        "examples": ["输入有误：name: 必填项"]},
            "details": {"description": "补充信息：422 时为 `{\"problems\": [{\"field\", \"message\"}]}`，"
                                       "拒绝访问时为所需权限（`action`）与对象"},
        },
    }},
}

TAGS = [
    {"name": "health", "description": "健康检查"},
    {"name": "auth", "description": "当前用户与 API 令牌"},
    {"name": "departments & users", "description": "部门与用户管理"},
    {"name": "audit", "description": "审计日志（哈希链）与校验"},
    {"name": "catalog", "description": "政务信息资源目录、需求清单、共享清单、仪表盘"},
    {"name": "lake", "description": "数据湖：版本上传、预览、行数据"},
    {"name": "query", "description": "SQL 沙箱查询"},
    {"name": "quality", "description": "数据质量：规则、检查、隔离区、清洗"},
    {"name": "privacy", "description": "隐私：敏感数据识别、脱敏策略、密钥、匿名化、差分隐私"},
    {"name": "federation", "description": "省市节点之间的签名消息"},
    {"name": "sharing", "description": "共享交换：申请、审批、授权、数据交付、统计"},
    {"name": "portal", "description": "开放数据：发布、撤回、申请与留言"},
    {"name": "delta sharing", "description": "Delta Sharing 开放协议（Bearer 令牌）"},
    {"name": "open data / DCAT", "description": "DCAT-AP 目录（Turtle、JSON-LD）与站点地图"},
    {"name": "CKAN Action API", "description": "CKAN 兼容的 Action API（只读部分）"},
]

router = APIRouter(include_in_schema=False)
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def pinned_scripts(page: HTMLResponse) -> HTMLResponse:
    """Allow exactly the page's own inline scripts (by their SHA-256), not inline script at large.

    >>> r = pinned_scripts(HTMLResponse("<script>go()</script>"))
    >>> "'unsafe-inline'" in r.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    False
    """
    hashes = [base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()
              for m in INLINE_SCRIPT.findall(bytes(page.body).decode())]
    sources = " ".join(f"'sha256-{h}'" for h in hashes)
    page.headers["content-security-policy"] = DOCS_CSP.replace(
        "script-src 'self' 'unsafe-inline'", f"script-src 'self' {sources}".rstrip())
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI with its script, styles and favicon from the package."""
    return pinned_scripts(get_swagger_ui_html(
        openapi_url=request.app.openapi_url, title=f"{TITLE} · Swagger UI",
        swagger_js_url=SWAGGER_JS, swagger_css_url=SWAGGER_CSS, swagger_favicon_url=FAVICON_SVG,
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True, "displayRequestDuration": True,
                               "filter": True, "tryItOutEnabled": False},
    ))


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc (standalone bundle from the package, system fonts: no Google Fonts)."""
    return pinned_scripts(get_redoc_html(
        openapi_url=request.app.openapi_url, title=f"{TITLE} · ReDoc", redoc_js_url=REDOC_JS,
        redoc_favicon_url=FAVICON_SVG, with_google_fonts=False))


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The platform's icon, where browsers look for it first."""
    return FileResponse(route_table.static_path("img", "favicon.ico"), media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


# -- the OpenAPI document ---------------------------------------------------------------------

def dependency_names(dependant: Dependant | None) -> frozenset[str]:
    """The names of every callable the route depends on, directly or through other dependencies."""
    names: set[str] = set()
    stack = list(dependant.dependencies) if dependant else []
    while stack:
        sub = stack.pop()
        names.add(getattr(sub.call, "__name__", ""))
        stack.extend(sub.dependencies)
    return frozenset(names)


def error_statuses(deps: frozenset[str], method: str, path: str, *, has_input: bool,
                   has_body: bool = False) -> list[int]:
    """The error statuses an operation can answer, from its dependencies, method and path."""
    out: set[int] = {413} if has_body else set()
    if "get_actor" in deps or "require_login" in deps:
        out |= {401, 403}
    if "{" in path:
        out.add(404)
    if method in WRITES and ("get_actor" in deps or "require_login" in deps):
        out.add(409)
    if has_input:
        out.add(422)
    if (path.startswith(RATE_LIMITED_PREFIXES) or "get_login_guard" in deps
            or (method, path) in QUOTA_LIMITED):
        out.add(429)
    return sorted(out)


def _error_response(status: int, *, ckan: bool = False) -> dict[str, Any]:
    schema = "CkanError" if ckan else "ErrorBody"
    resp: dict[str, Any] = {"description": (CKAN_ERRORS if ckan else ERROR_TEXT)[status],
                            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    if status == 429:
        resp["headers"] = {"Retry-After": {"description": "建议等待的秒数", "schema": {"type": "integer"}}}
    return resp


def complete_openapi(doc: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Add the security scheme, the error body and the error responses to ``doc`` (in place)."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ERROR_BODY
    schemas["CkanError"] = CKAN_ERROR_BODY
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "API 令牌：在“API 令牌”页面（/tokens）或 `POST /api/v1/tokens` 创建，"
                                  "以 `Authorization: Bearer <令牌>` 发送"},
        "ckanApiKey": {"type": "apiKey", "in": "header", "name": "X-CKAN-API-Key",
                       "description": "开放门户开发者的 API 密钥（sdk_…，在开发者中心创建）；CKAN 接口也接受放在 "
                                      "`Authorization` 中"}}
    for route in route_table.api_routes(app):
        deps = dependency_names(route.dependant)
        for method in route.methods or ():
            op = doc.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            if "require_login" in deps:
                op["security"] = [{"bearer": []}]
            elif "get_actor" in deps:
                op["security"] = [{"bearer": []}, {}]  # optional: anonymous callers are served less
            responses = op.setdefault("responses", {})
            if route.path_format.startswith(CKAN_PREFIXES):
                op["security"] = [{"ckanApiKey": []}, {}]  # optional: open datasets need no key
                responses.pop("422", None)  # CKAN reports bad parameters as 409 Validation Error
                for status in CKAN_ERRORS:
                    responses[str(status)] = _error_response(status, ckan=True)
                op["responses"] = dict(sorted(responses.items()))
                continue
            has_input = bool(op.get("parameters") or op.get("requestBody"))
            for status in error_statuses(deps, method, route.path_format, has_input=has_input,
                                         has_body="requestBody" in op):
                own = responses.get(str(status), {}).get("description")  # a route's own words are kept
                responses[str(status)] = _error_response(status)
                if own and own != "Validation Error":
                    responses[str(status)]["description"] = own
            op["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and unused not in _refs(doc):
            del schemas[unused]
    return doc


def _refs(doc: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.add(ref.rsplit("/", 1)[-1])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


def install(app: FastAPI) -> None:
    """Serve the documentation pages and complete the OpenAPI document (built once, on first use)."""
    app.openapi_tags = TAGS
    app.include_router(router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes, tags=app.openapi_tags)
            app.openapi_schema = complete_openapi(doc, app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

