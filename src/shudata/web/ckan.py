"""The CKAN-compatible Action API at ``/api/action/{name}`` and ``/api/3/action/{name}``.

GET (query string) and POST (JSON body or form) both work; answers use CKAN's envelope
``{"help", "success", "result"}`` and its error form ``{"help", "success": false,
"error": {"__type", "message"}}`` — so ``ckanapi``, CKAN harvesters and scripts written
for CKAN work unchanged. Errors keep the app's audit (every refusal is recorded through
:func:`shudata.web.errors.error_response`). API keys are read raw from ``X-CKAN-API-Key``
or ``Authorization`` (developer keys ``sdk_…``).
"""

from __future__ import annotations

import base64
import decimal
import itertools
import json
import logging
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
import pyarrow as pa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shudata import __version__
from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record
from shudata.core.config import Settings
from shudata.core.errors import BadRequest, InvalidInput, NotFound, PermissionDenied, ShudataError, Unauthenticated
from shudata.core.types import Actor
from shudata.lake.reader import BytesLRU
from shudata.portal import ckan
from shudata.portal.data import FORMAT_LABELS, FORMATS, DatastoreQuery, split_resource_id
from shudata.portal.data import query as datastore_query
from shudata.portal.developers import KeyHolder, count_key_use, key_holder, require_data_access
from shudata.portal.search import DatasetFilters, search_datasets
from shudata.portal.service import PublicDataset, count_use, get_dataset
from shudata.query.access import ResolvedTable
from shudata.query.engines.base import TableSource, view_name
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.limits import collect_within, limits_for, row_sizes, row_too_large, rows_within
from shudata.query.sandbox import sandbox
from shudata.web.deps import SessionDep, SettingsDep, client_ip, get_lang
from shudata.web.errors import error_response

log = logging.getLogger("shudata.web.ckan")
router = APIRouter(tags=["CKAN Action API"])

SEARCH_ROWS_MAX = 1000
SQL_ROWS_MAX = 32000
MAX_INT = 2**63 - 1  # offsets and limits beyond 64 bits name nothing (and SQLite cannot bind them)
_PAGES = BytesLRU(64 << 20)  # encoded datastore pages of immutable published files


class Params:
    """An action's parameters (query string, JSON body or form), with CKAN's conversions."""

    def __init__(self, values: Mapping[str, Any], error: str | None = None) -> None:
        self.values, self.error = dict(values), error

    def raw(self, key: str) -> Any:
        return self.values.get(key)

    def text(self, key: str, default: str | None = None) -> str | None:
        v = self.values.get(key)
        if v is None or v == "":
            return default
        if isinstance(v, dict | list):
            raise _invalid(key, "应为文本", "must be text")
        return str(v)

    def required(self, key: str) -> str:
        v = self.text(key)
        if v is None or not v.strip():
            raise _invalid(key, "缺少参数", "Missing value")
        return v.strip()

    def integer(self, key: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        v = self.values.get(key)
        if v is None or v == "":
            return default
        try:
            n = int(str(v).strip())
        except ValueError:
            raise _invalid(key, "应为整数", "Invalid integer") from None
        if n < minimum:
            raise _invalid(key, f"不能小于 {minimum}", f"Must be at least {minimum}")
        if n > MAX_INT:
            raise _invalid(key, f"不能大于 {MAX_INT}", f"Must be at most {MAX_INT}")
        return min(n, maximum) if maximum is not None else n

    def flag(self, key: str, default: bool) -> bool:
        v = self.values.get(key)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        s = str(v).strip().lower()
        if s in ("true", "1", "yes", "on"):
            return True
        if s in ("false", "0", "no", "off"):
            return False
        raise _invalid(key, "应为 true 或 false", "Must be true or false")

    def json(self, key: str) -> Any:
        """A value CKAN accepts either as JSON text or as structured JSON."""
        v = self.values.get(key)
        if isinstance(v, str) and v.strip()[:1] in ("{", "["):
            try:
                return json.loads(v)
            except ValueError:
                raise _invalid(key, "不是有效的 JSON", "Not valid JSON") from None
        return v

    def names(self, key: str) -> list[str] | None:
        """A list given as a JSON list, a list or comma-separated text."""
        v = self.json(key)
        if v is None or v == "":
            return None
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return list(v)
        raise _invalid(key, "应为字段名列表", "Must be a list of names")


def _invalid(key: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"参数 {key}：{zh}", f"{key}: {en}", code="validation_error", details={"field": key})


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


@dataclass
class Call:
    """One action call: the store, the caller and the parameters."""

    name: str
    request: Request
    session: Session
    settings: Settings
    params: Params
    holder: KeyHolder | None

    @property
    def base_url(self) -> str:
        return (self.settings.portal_base_url or str(self.request.base_url)).rstrip("/")

    @property
    def actor(self) -> Actor:
        return self.holder.actor if self.holder else Actor.anonymous(client_ip(self.request))

    def used(self, ds: PublicDataset) -> None:
        count_use(self.session, ds, "api")
        count_key_use(self.session, self.holder, ds)


# -- actions ----------------------------------------------------------------------------------

def status_show(c: Call) -> dict[str, Any]:
    return {"site_title": "蜀数 · 四川省公共数据开放平台", "site_description": "四川省公共信息资源开放平台",
            "site_url": c.base_url, "ckan_version": ckan.CKAN_VERSION, "shudata_version": __version__,
            "error_emails_to": None, "locale_default": "zh_Hans_CN",
            "extensions": ["datastore", "shudata"]}


def package_list(c: Call) -> list[str]:
    limit = c.params.integer("limit", -1, minimum=-1)
    return ckan.package_names(c.session, c.params.integer("offset", 0), None if limit < 0 else limit)


def _query_text(q: str | None) -> str:
    q = (q or "").strip()
    if q in ("*:*", "*"):
        return ""
    if len(q) > 200 or "{!" in q or any(ord(ch) < 32 for ch in q):
        raise ckan.search_error("搜索词无效（过长、含控制字符或 Solr 本地参数）",
                                "Invalid q (too long, control characters or Solr local parameters)")
    return q


def package_search(c: Call) -> dict[str, Any]:
    p = c.params
    q = _query_text(p.text("q"))
    parsed = ckan.parse_fq(p.text("fq"))
    rows = p.integer("rows", 10, maximum=SEARCH_ROWS_MAX)
    start = p.integer("start", 0)
    sort = ckan.sort_of(p.text("sort"))
    fields = ckan.facet_fields(p.raw("facet.field"))
    facet_limit = p.integer("facet.limit", 50, minimum=-1)
    filters = parsed.filters
    if parsed.organization:
        dept = ckan.department_id_of(c.session, parsed.organization)
        parsed.empty = parsed.empty or dept is None
        filters = replace(filters, department_id=dept)
    if parsed.empty:
        return {"count": 0, "results": [], "sort": p.text("sort", "score desc"), "facets": {f: {} for f in fields},
                "search_facets": {f: {"title": f, "items": []} for f in fields}}
    try:
        found = search_datasets(c.session, q=q, filters=filters, sort=sort, offset=start, limit=rows,
                                facets=bool(fields))
    except InvalidInput as exc:
        raise ckan.search_error(exc.zh, exc.en) from None
    results = ckan.packages(c.session, [(h.dataset, h.resource) for h in found.hits], c.base_url)
    facets, search = ckan.search_facets(_facet_counts(c, fields, found, q, filters, sort), facet_limit)
    return {"count": found.total, "results": results, "sort": p.text("sort", "score desc"),
            "facets": facets, "search_facets": search}


def _facet_counts(c: Call, fields: list[str], found: Any, q: str, filters: DatasetFilters,
                  sort: str) -> dict[str, dict[str, tuple[str, int]]]:
    out: dict[str, dict[str, tuple[str, int]]] = {}
    fac = found.facets or {}
    for name in fields:
        if name == "organization":
            depts = ckan.departments_of(c.session, [int(v.value) for v in fac.get("department", [])
                                                    if v.value.isdigit()])
            out[name] = {ckan.org_name(depts[int(v.value)]): (v.label, v.count) for v in fac.get("department", [])
                         if v.value.isdigit() and int(v.value) in depts}
        elif name == "groups":
            out[name] = {v.value: (v.label, v.count) for v in fac.get("theme", [])}
        elif name in ("license_id", "open_class"):
            lic = name == "license_id"
            out[name] = {(ckan.LICENSE_OF.get(v.value, v.value) if lic else v.value): (v.label, v.count)
                         for v in fac.get("open_class", [])}
        elif name in ("update_cycle", "format"):
            out[name] = {v.value: (v.label, v.count) for v in fac.get(name, [])}
        elif name == "res_format":
            out[name] = {FORMAT_LABELS[f]: (FORMAT_LABELS[f], found.total)
                         for f in FORMATS} if found.total else {}
        elif name == "tags":
            out[name] = {t: (t, n) for t, n in _tag_counts(c, q, filters, sort, found.total).items()}
    return out


def _tag_counts(c: Call, q: str, filters: DatasetFilters, sort: str, total: int) -> dict[str, int]:
    if not q:
        return dict(ckan.tag_facet(c.session, filters))
    rows: list[tuple[Any, Any]] = []
    for start in range(0, min(total, 10_000), 1000):  # text matches: bounded by the match set
        page = search_datasets(c.session, q=q, filters=filters, sort=sort, offset=start, limit=1000, facets=False)
        rows.extend((h.dataset, h.resource) for h in page.hits)
    return dict(ckan.tag_facet(c.session, filters, rows))


def package_show(c: Call) -> dict[str, Any]:
    ds = get_dataset(c.session, c.params.required("id").lower())
    c.used(ds)
    return ckan.package(c.session, ds, c.base_url)


def resource_show(c: Call) -> dict[str, Any]:
    rid = c.params.required("id")
    ds = _dataset_of_resource(c.session, rid)
    c.used(ds)
    pkg = ckan.package(c.session, ds, c.base_url)
    canonical = ckan.resource_of(rid, ds)
    return next(r for r in pkg["resources"] if r["id"] == canonical)


def _dataset_of_resource(session: Session, rid: str) -> PublicDataset:
    name, _fmt = split_resource_id(rid.strip().lower())
    try:
        return get_dataset(session, name)
    except NotFound:
        raise NotFound(f"资源“{rid}”不存在或未开放", f"Resource {rid!r} not found",
                       code="resource_not_found", details={"action": "portal.api.resource"}) from None


def organization_list(c: Call) -> list[Any]:
    rows = ckan.organization_counts(c.session)
    wanted = c.params.names("organizations")
    if wanted:
        rows = [(d, n) for d, n in rows if ckan.org_name(d) in {w.lower() for w in wanted}]
    if (c.params.text("sort") or "").startswith("package_count"):
        rows.sort(key=lambda x: -x[1])
    offset, limit = c.params.integer("offset", 0), c.params.integer("limit", 1000, maximum=1000)
    rows = rows[offset:offset + limit]
    if c.params.flag("all_fields", False):
        return [ckan.organization_dict(d, n) for d, n in rows]
    return [ckan.org_name(d) for d, _ in rows]


def organization_show(c: Call) -> dict[str, Any]:
    dept, n = ckan.find_organization(c.session, c.params.required("id"))
    out = ckan.organization_dict(dept, n)
    if c.params.flag("include_datasets", False):
        found = search_datasets(c.session, filters=DatasetFilters(department_id=dept.id), sort="newest",
                                limit=1000, facets=False)
        out["packages"] = ckan.packages(c.session, [(h.dataset, h.resource) for h in found.hits], c.base_url)
    return out


def group_list(c: Call) -> list[Any]:
    rows = ckan.group_counts(c.session)
    wanted = c.params.names("groups")
    if wanted:
        rows = [(t, n) for t, n in rows if t in wanted]
    if (c.params.text("sort") or "").startswith("package_count"):
        rows.sort(key=lambda x: -x[1])
    offset, limit = c.params.integer("offset", 0), c.params.integer("limit", 1000, maximum=1000)
    rows = rows[offset:offset + limit]
    if c.params.flag("all_fields", False):
        return [ckan.group_dict(t, n) for t, n in rows]
    return [t for t, _ in rows]


def group_show(c: Call) -> dict[str, Any]:
    key = c.params.required("id")
    for theme, n in ckan.group_counts(c.session):
        if theme == key:
            return ckan.group_dict(theme, n)
    raise NotFound(f"主题“{key}”不存在", f"Group {key!r} not found", code="group_not_found",
                   details={"action": "portal.api.group_show"})


def tag_list(c: Call) -> list[Any]:
    counts = ckan.tag_counts(c.session)
    query = (c.params.text("query") or c.params.text("q") or "").strip()
    names = sorted(t for t in counts if query in t)
    if c.params.flag("all_fields", False):
        return [ckan.tag_dict(t) for t in names]
    return names


def license_list(c: Call) -> list[dict[str, Any]]:
    return [dict(lic) for lic in ckan.LICENSES]


def help_show(c: Call) -> str:
    name = c.params.required("name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise NotFound(f"没有名为“{name}”的操作", f"Action {name!r} not found", code="action_not_found",
                       details={"action": "portal.api.help_show"})
    return (fn.__doc__ or name).strip()


# -- datastore --------------------------------------------------------------------------------

def _encode_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _records(table: pa.Table, offset: int, fmt: str, with_id: bool) -> bytes:
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    names = table.column_names
    ids = range(offset + 1, offset + table.num_rows + 1)
    if fmt == "lists":
        rows: list[Any] = [[i, *r] for i, r in zip(ids, zip(*cols, strict=True), strict=False)] if with_id \
            else [list(r) for r in zip(*cols, strict=True)]
    else:
        keys = ["_id", *names] if with_id else names
        rows = [dict(zip(keys, (i, *r) if with_id else r, strict=True))
                for i, r in zip(ids, zip(*cols, strict=True), strict=False)]
    if not names:
        rows = [[i] if fmt == "lists" else {"_id": i} for i in ids] if with_id else []
    return orjson.dumps(rows, default=_encode_default)


def _links(c: Call, rid: str, offset: int, limit: int) -> dict[str, str]:
    keep = {k: v for k, v in c.params.values.items() if k not in ("offset", "resource_id", "id")
            and isinstance(v, str | int | float) and not isinstance(v, bool)}
    path = c.request.url.path
    start = urlencode({"resource_id": rid, **keep})
    nxt = urlencode({"resource_id": rid, **keep, "offset": offset + limit})
    return {"start": f"{path}?{start}", "next": f"{path}?{nxt}"}


def datastore_search(c: Call) -> dict[str, Any]:
    p = c.params
    rid = p.text("resource_id") or p.required("id")
    ds = _dataset_of_resource(c.session, rid)
    require_data_access(c.session, ds, c.holder)
    filters, q = p.json("filters"), p.json("q")
    if filters is not None and not isinstance(filters, dict):
        raise _invalid("filters", "应为 JSON 对象", "Must be a JSON object")
    if q is not None and not isinstance(q, str | dict):
        raise _invalid("q", "应为文本或 JSON 对象", "Must be text or a JSON object")
    fields = p.names("fields")
    fmt = p.text("records_format", "objects") or "objects"
    if fmt not in ("objects", "lists"):
        raise _invalid("records_format", "只支持 objects 或 lists", "Only objects and lists are supported")
    requested = p.integer("limit", 100)
    limit = min(requested, c.settings.page_size_max)  # as CKAN's ckan.datastore.search.rows_max; stated below
    offset = p.integer("offset", 0)
    sort = p.text("sort")
    if sort and sort.strip().strip('"').lower() in ("_id", "_id asc"):
        sort = None
    with_id = not fields or "_id" in fields
    cols = [f for f in fields or [] if f != "_id"]
    dq = DatastoreQuery(filters=filters, q=q or None, fields=cols or None, sort=sort, limit=limit, offset=offset,
                        distinct=p.flag("distinct", False))
    key = (ds.publication.file, offset, limit, tuple(cols), fmt, with_id, c.settings.result_max_bytes)
    plain = not (filters or q or sort or dq.distinct)
    body = _PAGES.get(key) if plain else None
    table: pa.Table | None = None
    shown = limit
    if body is None:
        table, total = datastore_query(c.settings, ds, dq)
        fit = rows_within(table, c.settings.result_max_bytes)
        if fit < table.num_rows:  # the page is cut to the byte limit, and says so
            if fit == 0:
                raise row_too_large(int(row_sizes(table.slice(0, 1))[0]), c.settings.result_max_bytes,
                                    "result_max_bytes")
            table, shown = table.slice(0, fit), fit
        body = _records(table, offset, fmt, with_id)
        if plain and shown == limit:
            _PAGES.put(key, body)
    else:
        total = ds.publication.rows
    c.used(ds)
    canonical = ckan.resource_of(rid, ds)
    out = {"include_total": True, "limit": limit, "offset": offset, "records_format": fmt,
           "resource_id": canonical, "total_estimation_threshold": None,
           "fields": ckan.datastore_fields(ds.publication.columns, cols or None, with_id),
           "records": orjson.Fragment(body), "_links": _links(c, canonical, offset, shown),
           "total": total, "total_was_estimated": False}
    if requested > limit:
        out["limit_requested"] = requested
        out["limit_capped"] = _limit_capped(limit, requested, offset + shown if offset + shown < total else None)
    if shown < limit:
        out["records_capped"] = _capped(c.settings, shown, offset + shown)
    return out


def _limit_capped(limit: int, requested: int, next_offset: int | None) -> dict[str, Any]:
    """How a page whose requested ``limit`` passed the maximum says so (CKAN caps it the same
    way, at ``ckan.datastore.search.rows_max``): the limit applied and where the rest is."""
    rest_zh = f"其余行从 offset={next_offset} 继续获取（_links.next），或下载整个数据集" if next_offset is not None \
        else "这已是最后一页"
    rest_en = f"fetch the rest from offset={next_offset} (_links.next), or download the whole dataset" \
        if next_offset is not None else "this is the last page"
    return {"reason": "rows_max", "limit": limit, "limit_requested": requested, "next_offset": next_offset,
            "message": f"每页最多 {limit} 行（设置 SHUDATA_PAGE_SIZE_MAX），请求的 limit={requested} "
                       f"已按 {limit} 行返回；{rest_zh}",
            "message_en": f"A page holds at most {limit} records (setting SHUDATA_PAGE_SIZE_MAX); the requested "
                          f"limit={requested} was capped to {limit}; {rest_en}"}


def _capped(settings: Settings, records: int, next_offset: int | None) -> dict[str, Any]:
    """How a byte-capped answer says so: why, the limit, what it holds and where the rest is."""
    where_zh = f"其余行从 offset={next_offset} 继续获取" if next_offset is not None else \
        "请少选列，或在 SQL 中用 LIMIT/OFFSET 分段获取其余行"
    where_en = f"fetch the rest from offset={next_offset}" if next_offset is not None else \
        "select fewer columns, or fetch the rest in parts with LIMIT/OFFSET in the SQL"
    return {"reason": "bytes", "max_bytes": settings.result_max_bytes, "records": records,
            "next_offset": next_offset,
            "message": f"结果超过单次答复的字节上限 {settings.result_max_bytes}（设置 SHUDATA_RESULT_MAX_BYTES），"
                       f"只返回了前 {records} 行；{where_zh}",
            "message_en": f"The result passes the {settings.result_max_bytes}-byte limit of one answer (setting "
                          f"SHUDATA_RESULT_MAX_BYTES); only the first {records} records are returned; {where_en}"}


def datastore_search_sql(c: Call) -> dict[str, Any]:
    sql = c.params.required("sql")
    if len(sql) > 20_000:
        raise _invalid("sql", "过长（最多 20,000 字）", "Too long (20,000 characters at most)")
    used: dict[str, tuple[PublicDataset, TableSource]] = {}

    def resolve(name: str) -> ResolvedTable:
        ds = _dataset_of_resource(c.session, name)
        require_data_access(c.session, ds, c.holder)
        if ds.name not in used:
            file = ds.file(c.settings)
            used[ds.name] = (ds, TableSource(view_name(c.settings.secret_key, [file]), [file]))
        d, src = used[ds.name]
        return ResolvedTable(source=src.name, columns=tuple(str(col["name"]) for col in d.publication.columns),
                             label=ckan.resource_of(name, d))

    try:
        checked = sandbox(sql, resolve, max_rows=SQL_ROWS_MAX + 1)
        engine = DuckDBEngine(threads=c.settings.duckdb_threads, memory_limit=c.settings.duckdb_memory_limit)
        table, capped = _sql_rows(engine, checked.sql, {s.name: s for _, s in used.values()}, c.settings)
    except ShudataError as exc:
        for d, src in used.values():
            exc.zh, exc.en = exc.zh.replace(src.name, d.name), exc.en.replace(src.name, d.name)
        if isinstance(exc.details, dict):
            exc.details = {**exc.details, "action": "portal.api.datastore_search_sql", "sql": sql[:2000]}
        raise
    truncated = table.num_rows > SQL_ROWS_MAX
    table = table.slice(0, SQL_ROWS_MAX)
    for d, _ in used.values():
        c.used(d)
    record(c.session, c.actor, AuditEvent("portal.api.datastore_search_sql", resource_type="portal",
                                          resource_id=",".join(used)[:200] or None,
                                          details={"sql": sql[:4000], "rows": table.num_rows,
                                                   **({"byte_capped": True} if capped else {})}))
    out = {"sql": sql, "records": orjson.Fragment(_records(table, 0, "objects", False)),
           "fields": [{"id": f.name, "type": ckan.ckan_type(str(f.type))} for f in table.schema],
           "records_truncated": truncated or capped}
    if capped:
        out["records_capped"] = _capped(c.settings, table.num_rows, None)
    return out


def _sql_rows(engine: DuckDBEngine, sql: str, tables: Mapping[str, TableSource], settings: Settings
              ) -> tuple[pa.Table, bool]:
    """The rows of ``sql`` (at most ``SQL_ROWS_MAX + 1``) read batch by batch until they pass
    ``result_max_bytes``; and whether that limit cut them."""
    stream = engine.stream(sql, tables, limits_for(settings, SQL_ROWS_MAX + 1))
    try:
        first = next(stream, None)
        if first is None:
            return engine.query(sql, tables, limits_for(settings, 0)), False
        return collect_within(first.schema, itertools.chain([first], stream), settings.result_max_bytes,
                              "result_max_bytes")
    finally:
        if isinstance(stream, Generator):
            stream.close()  # stops the engine and closes its connection when the limit ended the read


ACTIONS: dict[str, Callable[[Call], Any]] = {
    "status_show": status_show, "package_list": package_list, "package_search": package_search,
    "package_show": package_show, "resource_show": resource_show, "organization_list": organization_list,
    "organization_show": organization_show, "group_list": group_list, "group_show": group_show,
    "tag_list": tag_list, "license_list": license_list, "help_show": help_show,
    "datastore_search": datastore_search, "datastore_search_sql": datastore_search_sql,
}


# -- envelope and errors ----------------------------------------------------------------------

def _ckan_error(exc: ShudataError, name: str) -> tuple[int, str]:
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


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body, default=_encode_default), status_code=status,
                    media_type="application/json;charset=utf-8")


def _help(request: Request, name: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={name}"


def _refuse(request: Request, name: str, exc: ShudataError) -> Response:
    status, kind = _ckan_error(exc, name)
    details = exc.details if isinstance(exc.details, dict) else {}
    details = {"action": f"portal.api.{name}", **{k: v for k, v in details.items() if v is not None}}
    error_response(request, status, exc.code, exc.zh, exc.en, details)  # the app's audit of refusals
    message = exc.en if get_lang(request) == "en" else exc.zh
    error: dict[str, Any] = {"__type": kind, "message": f"{kind}: {message}"}
    if kind == "Validation Error" and details.get("field"):
        error[str(details["field"])] = [message]
    return _json({"help": _help(request, name), "success": False, "error": error}, status)


def _call(name: str, request: Request, session: Session, settings: Settings, params: Params) -> Response:
    request.state.actor = Actor.anonymous(client_ip(request))
    try:
        fn = ACTIONS.get(name)
        if fn is None:
            raise NotFound(f"没有名为“{name}”的操作（只读 Action API）", f"Action {name!r} not found",
                           code="action_not_found")
        if params.error:
            raise InvalidInput(params.error, params.error, code="validation_error")
        raw_key = request.headers.get("x-ckan-api-key") or request.headers.get("authorization")
        holder = key_holder(session, raw_key)
        if holder is not None:
            request.state.actor = holder.actor
        result = fn(Call(name, request, session, settings, params, holder))
    except ShudataError as exc:
        session.rollback()
        return _refuse(request, name, exc)
    return _json({"help": _help(request, name), "success": True, "result": result})


def action(name: str, request: Request, session: SessionDep, settings: SettingsDep, params: ParamsDep) -> Response:
    """``status_show``、``package_list``、``package_search``、``package_show``、``resource_show``、
    ``organization_list``、``organization_show``、``group_list``、``group_show``、``tag_list``、
    ``license_list``、``datastore_search``、``datastore_search_sql``、``help_show``。"""
    return _call(name, request, session, settings, params)


for _path, _version, _summary in (
        ("/api/action/{name}", "action", "CKAN 兼容 Action API / CKAN Action API"),
        ("/api/3/action/{name}", "action3", "CKAN 兼容 Action API（第 3 版路径）/ CKAN Action API (v3 path)")):
    for _method in ("GET", "POST"):  # one operation id each (OpenAPI wants them unique)
        router.add_api_route(_path, action, methods=[_method], summary=_summary,
                             operation_id=f"ckan_{_version}_{_method.lower()}")
