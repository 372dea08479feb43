"""CKAN's data model for the open-data portal: packages, resources, organizations, groups,
tags, licences, and the parsing of ``package_search`` parameters.

The functions building dicts are pure (rows in, CKAN dicts out); the few that read the
store take a session and only ever go through :func:`shudata.portal.service.visible`,
so a hidden dataset cannot appear in any CKAN answer.

Mapping: a visible dataset is a *package* (``id`` = ``name`` = the dataset's public name);
each download format of its current publication is a *resource* (``id`` =
:func:`shudata.portal.data.resource_id`); the provider department is the *organization*
(``name`` = its 统一社会信用代码 in lower case); the portal theme is the *group* (``name`` =
:func:`group_name`, an ASCII slug; ``title`` the Chinese theme); the entry's tags are *tags*;
the open class picks the *licence* (``license_url`` absolute).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pypinyin import lazy_pinyin
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.errors import BadRequest, NotFound
from shudata.core.ids import parse_id
from shudata.portal import downloads
from shudata.portal.data import FORMAT_LABELS, FORMATS, resource_id
from shudata.portal.models import PortalDataset, PortalPublication
from shudata.portal.service import CONDITIONAL, OPEN, PublicDataset, visible, visible_condition
from shudata.security.models import Department

CKAN_VERSION = "2.10.4"  # the Action API version whose shapes these dicts follow
DOWNLOAD_PATH = "/portal/datasets/{name}/download.{fmt}"
LICENSES: tuple[dict[str, Any], ...] = (
    {"id": "cc-by-4.0", "title": "知识共享署名 4.0 国际许可协议 (CC BY 4.0)",
     "url": "https://creativecommons.org/licenses/by/4.0/", "od_conformance": "approved",
     "osd_conformance": "not reviewed", "status": "active", "maintainer": "", "family": "",
     "domain_content": True, "domain_data": True, "domain_software": False, "is_generic": False},
    {"id": "shudata-conditional", "title": "有条件开放数据使用协议（须申请获批）",
     "url": "/portal/agreement", "od_conformance": "not reviewed", "osd_conformance": "not reviewed",
     "status": "active", "maintainer": "", "family": "", "domain_content": False, "domain_data": True,
     "domain_software": False, "is_generic": False},
)
LICENSE_OF = {OPEN: "cc-by-4.0", CONDITIONAL: "shudata-conditional"}
OPEN_CLASS_OF = {v: k for k, v in LICENSE_OF.items()}


# -- small values -----------------------------------------------------------------------------

def iso(value: dt.datetime | dt.date | None) -> str | None:
    """CKAN's timestamp form: ISO 8601, UTC, no offset.

    >>> iso(dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    '2024-05-01T00:00:00'
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    return value.isoformat()


def org_name(dept: Department) -> str:
    """An organization's CKAN name: the department's 统一社会信用代码 in lower case."""
    return dept.uscc.lower()


def absolute(url: str, base_url: str) -> str:
    """``url`` made absolute against the site's ``base_url`` (CKAN's ``license_url`` is).

    >>> absolute("/portal/agreement", "https://data.example.cn/"), absolute("https://x.org/a", "http://h")
    ('https://data.example.cn/portal/agreement', 'https://x.org/a')
    """
    return url if "://" in url or not base_url else base_url.rstrip("/") + url


def license_dict(open_type: str, base_url: str = "") -> dict[str, Any]:
    lid = LICENSE_OF.get(open_type, LICENSE_OF[OPEN])
    lic = next(dict(lic) for lic in LICENSES if lic["id"] == lid)
    lic["url"] = absolute(str(lic["url"]), base_url)
    return lic


def licenses(base_url: str = "") -> list[dict[str, Any]]:
    """``license_list``: every licence the portal uses, with absolute URLs."""
    return [{**lic, "url": absolute(str(lic["url"]), base_url)} for lic in LICENSES]


def tag_dict(name: str) -> dict[str, Any]:
    return {"id": name, "name": name, "display_name": name, "state": "active", "vocabulary_id": None}


@functools.lru_cache(maxsize=4096)
def group_name(theme: str) -> str:
    """A theme's CKAN group name: an ASCII slug (CKAN's ``[a-z0-9_-]``, 2–100 characters) —
    the theme's pinyin and six hex digits of its SHA-256, so the name depends on the theme
    alone (stable whatever other themes exist) and two homophone themes never share one.

    >>> group_name("人口"), group_name("经济运行"), group_name("GDP 统计")
    ('renkou-6909fc', 'jingjiyunxing-a12d6b', 'gdp-tongji-cb637e')
    """
    words = "".join(lazy_pinyin(theme, errors="default"))  # 人口 → renkou; other characters kept
    slug = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:90] or "group"
    return f"{slug}-{hashlib.sha256(theme.encode()).hexdigest()[:6]}"


def group_dict(theme: str, package_count: int | None = None) -> dict[str, Any]:
    name = group_name(theme)
    out: dict[str, Any] = {"id": name, "name": name, "title": theme, "display_name": theme,
                           "description": f"主题：{theme}", "type": "group", "state": "active",
                           "is_organization": False, "image_url": "", "image_display_url": "",
                           "approval_status": "approved"}
    if package_count is not None:
        out["package_count"] = package_count
    return out


def organization_dict(dept: Department, package_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": org_name(dept), "name": org_name(dept), "title": dept.name,
                           "display_name": dept.name, "description": f"{dept.name}（行政区划 {dept.region_code}）",
                           "type": "organization", "state": "active", "is_organization": True,
                           "image_url": "", "image_display_url": "", "approval_status": "approved",
                           "created": iso(dept.created_at)}
    if package_count is not None:
        out["package_count"] = package_count
    return out


def modified(ds: PortalDataset, res: CatalogResource) -> dt.datetime:
    """When the package last changed: a new publication or a catalog edit."""
    a, b = _naive(ds.published_at), _naive(res.updated_at)
    return max(a, b)


def _naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def resource_dict(ds: PortalDataset, res: CatalogResource, pub: PortalPublication | None, fmt: str,
                  base_url: str, position: int = 0, file: tuple[int, str] | None = None) -> dict[str, Any]:
    """A download format as a CKAN resource; ``file`` is the download's ``(size, sha256)`` when
    known (:func:`shudata.portal.downloads.facts`), else only Parquet's (the published file)."""
    rid = f"{ds.name}-{fmt}"
    if file is None and pub is not None and pub.sha256 and fmt == "parquet":
        file = (int(pub.bytes or 0), pub.sha256)
    return {
        "id": rid, "package_id": ds.name, "name": f"{res.name}（{FORMAT_LABELS[fmt]}）",
        "description": f"{res.name}，第 {ds.version} 版，{FORMAT_LABELS[fmt]} 格式（已按开放脱敏策略处理）",
        "format": FORMAT_LABELS[fmt], "mimetype": MIME[fmt],
        "url": base_url.rstrip("/") + DOWNLOAD_PATH.format(name=ds.name, fmt=fmt), "url_type": None,
        "state": "active", "position": position, "datastore_active": True,
        "created": iso(ds.first_published_at), "last_modified": iso(ds.published_at),
        "metadata_modified": iso(modified(ds, res)), "size": file[0] if file else None,
        "hash": f"sha256:{file[1]}" if file else "",
        "rows": pub.rows if pub else None, "version": ds.version, "resource_type": None,
        "conditional": res.open_type == CONDITIONAL,
    }


MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "json": "application/json", "parquet": "application/vnd.apache.parquet"}


def package_dict(ds: PortalDataset, res: CatalogResource, pub: PortalPublication | None, dept: Department,
                 base_url: str, files: Mapping[str, tuple[int, str]] | None = None) -> dict[str, Any]:
    """A visible dataset as a CKAN package (with its resources, tags, group and organization);
    ``files``: each prepared download's ``(size, sha256)`` by format."""
    lic = license_dict(res.open_type, base_url)
    tags = [tag_dict(str(t)) for t in res.tags or []]
    extras = {"resource_code": res.code, "open_class": res.open_type, "open_condition": res.open_condition or "",
              "update_cycle": res.update_cycle, "theme": ds.theme, "format_category": res.format_category,
              "classification": res.classification, "category_path": res.category_path or "",
              "information_items": json.dumps([i.get("name") for i in res.information_items or []],
                                              ensure_ascii=False),
              "rows": str(pub.rows if pub else ""), "publication_policy": pub.policy if pub else ""}
    return {
        "id": ds.name, "name": ds.name, "title": res.name, "notes": res.abstract, "type": "dataset",
        "state": "active", "private": False, "author": dept.name, "author_email": None,
        "maintainer": dept.name, "maintainer_email": None, "version": str(ds.version),
        "license_id": lic["id"], "license_title": lic["title"], "license_url": lic["url"],
        "isopen": res.open_type == OPEN, "url": base_url.rstrip("/") + f"/portal/datasets/{ds.name}",
        "metadata_created": iso(ds.first_published_at), "metadata_modified": iso(modified(ds, res)),
        "owner_org": org_name(dept), "organization": organization_dict(dept),
        "groups": [group_dict(ds.theme)], "tags": tags, "num_tags": len(tags),
        "resources": [resource_dict(ds, res, pub, f, base_url, i, (files or {}).get(f)) for i, f in enumerate(FORMATS)],
        "num_resources": len(FORMATS), "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "relationships_as_object": [], "relationships_as_subject": [],
        "views": ds.views, "downloads": ds.downloads, "api_calls": ds.api_calls,
    }


# -- reading the store (visible datasets only) ---------------------------------------------------

def publications_of(session: Session, pairs: Sequence[tuple[int, int]]) -> dict[int, PortalPublication]:
    """The current publication of each ``(resource_id, version)``, by resource id."""
    out: dict[int, PortalPublication] = {}
    wanted = dict(pairs)
    ids = sorted(wanted)
    for i in range(0, len(ids), 400):  # by resource id (indexed), version and status checked here
        rows = session.scalars(select(PortalPublication).where(PortalPublication.resource_id.in_(ids[i:i + 400]))
                               .order_by(PortalPublication.id))
        for p in rows:
            if p.status == "published" and wanted.get(p.resource_id) == p.version:
                out[p.resource_id] = p
    return out


def departments_of(session: Session, ids: Sequence[int]) -> dict[int, Department]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def packages(session: Session, rows: Sequence[tuple[PortalDataset, CatalogResource]], base_url: str
             ) -> list[dict[str, Any]]:
    """Package dicts of visible ``(dataset, resource)`` rows, loading their publications and
    departments in two queries."""
    pubs = publications_of(session, [(r.id, d.version) for d, r in rows if d.version is not None])
    depts = departments_of(session, [r.provider_department_id for _, r in rows])
    return [package_dict(d, r, pubs.get(r.id), depts[r.provider_department_id], base_url,
                         _files(session, pubs.get(r.id))) for d, r in rows]


def package(session: Session, ds: PublicDataset, base_url: str) -> dict[str, Any]:
    dept = session.get(Department, ds.resource.provider_department_id)
    if dept is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("dept is unexpectedly None")
    return package_dict(ds.dataset, ds.resource, ds.publication, dept, base_url, _files(session, ds.publication))


def _files(session: Session, pub: PortalPublication | None) -> dict[str, tuple[int, str]]:
    """The prepared downloads' sizes and digests, read from the data folder of the settings the
    action's context put on ``session`` (:data:`shudata.portal.downloads.SETTINGS_KEY`)."""
    settings = session.info.get(downloads.SETTINGS_KEY)
    return downloads.all_facts(settings, pub) if settings is not None else {}


def package_names(session: Session, offset: int, limit: int | None) -> list[str]:
    stmt = select(PortalDataset.name).join(CatalogResource, CatalogResource.id == PortalDataset.resource_id) \
        .where(visible_condition()).order_by(PortalDataset.name).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def organization_counts(session: Session) -> list[tuple[Department, int]]:
    """Departments with visible datasets and how many, by name."""
    counts = dict(session.execute(
        select(CatalogResource.provider_department_id, func.count()).select_from(PortalDataset)
        .join(CatalogResource, CatalogResource.id == PortalDataset.resource_id)
        .where(visible_condition()).group_by(CatalogResource.provider_department_id)).all())
    depts = departments_of(session, list(counts))
    return sorted(((depts[i], int(n)) for i, n in counts.items() if i in depts), key=lambda x: org_name(x[0]))


def find_organization(session: Session, key: str) -> tuple[Department, int]:
    k = key.strip().lower()
    for dept, n in organization_counts(session):
        if k in (org_name(dept), str(dept.id), dept.name.lower()):
            return dept, n
    raise NotFound(f"组织“{key}”不存在或没有开放数据", f"Organization {key!r} not found",
                   code="organization_not_found", details={"action": "portal.api.organization_show"})


def find_group(session: Session, key: str) -> tuple[str, int]:
    """The theme a CKAN group id/name (the slug) or its Chinese title names, and its count."""
    k = key.strip()
    for theme, n in group_counts(session):
        if k in (theme, group_name(theme)) or k.lower() == group_name(theme):
            return theme, n
    raise NotFound(f"主题“{key}”不存在或没有开放数据", f"Group {key!r} not found", code="group_not_found",
                   details={"action": "portal.api.group_show"})


def group_counts(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(
        select(PortalDataset.theme, func.count()).select_from(PortalDataset)
        .join(CatalogResource, CatalogResource.id == PortalDataset.resource_id)
        .where(visible_condition()).group_by(PortalDataset.theme))
    return sorted(((str(t), int(n)) for t, n in rows), key=lambda x: x[0])


def tag_counts(session: Session) -> Counter[str]:
    out: Counter[str] = Counter()
    for tags in session.scalars(visible().with_only_columns(CatalogResource.tags)):
        out.update(str(t) for t in tags or [])
    return out


def all_datasets_by_name(session: Session, names: Sequence[str]) -> list[tuple[PortalDataset, CatalogResource]]:
    rows = [(d, r) for d, r in session.execute(visible().where(PortalDataset.name.in_(list(names))))]
    order = {n: i for i, n in enumerate(names)}
    return sorted(rows, key=lambda x: order.get(x[0].name, 0))


# -- package_search parameters -------------------------------------------------------------------

SORT_FIELDS = {"score": "score", "rank": "score", "relevance": "score", "id": "name", "name": "name",
               "title_string": "title", "title": "title", "metadata_modified": "modified",
               "metadata_created": "created", "views_recent": "views", "views_total": "views", "views": "views",
               "downloads": "downloads", "api_calls": "api"}
DEFAULT_SORT = "score desc, metadata_modified desc"  # CKAN's
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id", "open_class", "update_cycle",
                "format")


def search_error(zh: str, en: str) -> BadRequest:
    return BadRequest(zh, en, code="search_query_error", details={"action": "portal.api.package_search"})


def sort_keys(sort: str | None) -> list[tuple[str, bool]]:
    """CKAN's Solr ``sort`` (comma-separated ``field asc|desc``) → the snapshot's sort keys
    ``(key, descending)``; an unknown field or direction is a Search Query Error.

    >>> sort_keys("id asc"), sort_keys(None)
    ([('name', False)], [('score', True), ('modified', True)])
    >>> sort_keys("metadata_modified desc, title_string asc")
    [('modified', True), ('title', False)]
    """
    out: list[tuple[str, bool]] = []
    for clause in (sort or DEFAULT_SORT).split(","):
        words = clause.lower().split()
        if not words:
            continue
        direction = words[1] if len(words) > 1 else ("desc" if words[0] in ("score", "rank", "relevance") else "asc")
        if words[0] not in SORT_FIELDS or direction not in ("asc", "desc") or len(words) > 2:
            fields = "、".join(SORT_FIELDS)
            raise search_error(f"不支持的排序“{str(sort)[:100]}”（字段 asc|desc，多个用逗号分隔；可用字段：{fields}）",
                               f"Unsupported sort {str(sort)[:100]!r} (field asc|desc, comma-separated; fields: "
                               f"{', '.join(SORT_FIELDS)})")
        out.append((SORT_FIELDS[words[0]], direction == "desc"))
    return out or sort_keys(DEFAULT_SORT)


def facet_fields(raw: Any) -> list[str]:
    """``facet.field`` as CKAN sends it (a JSON list in a string, or a list).

    >>> facet_fields('["organization", "groups"]'), facet_fields(None)
    (['organization', 'groups'], [])
    """
    if raw in (None, "", []):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise search_error("facet.field 应为字段名的 JSON 列表", "facet.field must be a JSON list of field names")
    unknown = [x for x in raw if x not in FACET_FIELDS]
    if unknown:
        raise search_error(f"不支持的分面字段：{'、'.join(unknown)}（可用：{'、'.join(FACET_FIELDS)}）",
                           f"Unsupported facet field(s): {', '.join(unknown)}")
    return list(raw)


def search_facets(counts: Mapping[str, Mapping[str, tuple[str, int]]], limit: int, mincount: int = 1) -> tuple[
        dict[str, dict[str, int]], dict[str, dict[str, Any]]]:
    """``facets`` and ``search_facets`` from ``field -> value -> (label, count)``: the values
    counted at least ``mincount`` times (``facet.mincount``), the ``limit`` most frequent
    (``facet.limit``, -1 for all)."""
    facets: dict[str, dict[str, int]] = {}
    search: dict[str, dict[str, Any]] = {}
    for name, values in counts.items():
        top = sorted(((v, lc) for v, lc in values.items() if lc[1] >= mincount), key=lambda kv: (-kv[1][1], kv[0]))
        if limit >= 0:
            top = top[:limit]
        facets[name] = {v: c for v, (_, c) in top}
        search[name] = {"title": name, "items": [{"name": v, "display_name": label, "count": c}
                                                 for v, (label, c) in top]}
    return facets, search


# -- datastore -----------------------------------------------------------------------------------

def ckan_type(arrow_type: str) -> str:
    """The datastore (PostgreSQL) type name CKAN reports for a column of this Arrow type.

    >>> [ckan_type(t) for t in ("int64", "double", "string", "bool", "date32[day]", "timestamp[us]")]
    ['int8', 'float8', 'text', 'bool', 'date', 'timestamp']
    """
    t = arrow_type.lower()
    if t.startswith(("int", "uint")):
        return "int4" if t in ("int8", "int16", "int32", "uint8", "uint16") else "int8"
    if t.startswith(("double", "float", "halffloat")):
        return "float8"
    if t.startswith("decimal"):
        return "numeric"
    if t.startswith("bool"):
        return "bool"
    if t.startswith("date"):
        return "date"
    if t.startswith("timestamp"):
        return "timestamp"
    if t.startswith("time"):
        return "time"
    if t.startswith(("list", "struct", "map", "large_list")):
        return "json"
    return "text"


def datastore_fields(columns: Sequence[Mapping[str, str]], selected: Sequence[str] | None = None,
                     with_id: bool = True) -> list[dict[str, str]]:
    """CKAN ``fields``: ``_id`` first (the row number), then the published columns."""
    types = {c["name"]: c.get("type", "string") for c in columns}
    names = list(selected) if selected else list(types)
    out = [{"id": "_id", "type": "int"}] if with_id else []
    return out + [{"id": n, "type": ckan_type(types.get(n, "string"))} for n in names if n != "_id"]


def resource_of(rid: str, ds: PublicDataset) -> str:
    """The canonical datastore resource id of ``ds`` named by ``rid`` (CSV when bare)."""
    fmt = rid.rsplit("-", 1)[-1] if rid.endswith(tuple(f"-{f}" for f in FORMATS)) else "csv"
    return resource_id(ds, fmt)


def department_id_of(session: Session, org: str) -> int | None:
    """The department an organization name (or id) stands for; ``None`` when none does."""
    k = org.strip().lower()
    dept = session.scalar(select(Department).where(func.lower(Department.uscc) == k))
    if dept is None and (dept_id := parse_id(k)) is not None:
        dept = session.get(Department, dept_id)
    return dept.id if dept is not None else None
