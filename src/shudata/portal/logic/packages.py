"""Package actions: ``package_list``, ``package_search``, ``package_show``, ``resource_show``.

Authorization is visibility: every dataset is resolved through
:func:`shudata.portal.service.get_dataset` / :func:`~shudata.portal.search.search_datasets`,
which only ever find published, gate-checked, open-class entries (anything else is
``NotFound``). Metadata is public; rows are :mod:`shudata.portal.logic.datastore`'s.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from shudata.core.errors import InvalidInput, NotFound
from shudata.portal import ckan, index, solr
from shudata.portal.data import FORMAT_LABELS, FORMATS, split_resource_id
from shudata.portal.index import Snapshot
from shudata.portal.logic.context import Context
from shudata.portal.logic.params import Params, invalid
from shudata.portal.search import QueryResult, TextMatch, query_datasets
from shudata.portal.service import PublicDataset, get_dataset, publications

SEARCH_ROWS_MAX = 1000


def package_list(ctx: Context, params: Params) -> list[str]:
    """The names of the visible datasets, by name.

    :param limit: how many (default all); :param offset: how many to skip
    """
    limit = params.integer("limit", -1, minimum=-1)
    return ckan.package_names(ctx.session, params.integer("offset", 0), None if limit < 0 else limit)


def _query(params: Params) -> tuple[solr.Node, str, str]:
    """``q``, ``fq`` and ``fq_list`` as one tree of filters; the free text to match; the
    words that rank the matches.

    A ``q`` of words only is CKAN's free-text search (matched and ranked by relevance over
    all its words, among the filtered datasets); a ``q`` with fields or operators is a
    Lucene query like ``fq``, ranked by its words."""
    q = (params.text("q") or "").strip()
    parts: list[solr.Node] = []
    text = rank = ""
    if q and q not in ('""', "''"):
        node = solr.parse(q, "q")
        if solr.is_plain_text(node):
            text = q
        else:
            rank = " ".join(solr.text_terms(node))
            parts.append(node)
    fq = params.text("fq")
    if fq and fq.strip():
        parts.append(solr.parse(fq, "fq"))
    for extra in params.names("fq_list") or []:
        parts.append(solr.parse(extra, "fq_list"))
    return solr.And(tuple(parts)) if parts else solr.All(), text, rank


def _license_of(open_class: str) -> str:
    return ckan.LICENSE_OF.get(open_class, open_class)


def package_search(ctx: Context, params: Params) -> dict[str, Any]:
    """Searches datasets (CKAN's ``package_search``).

    :param q: free text, or a Lucene query with fields (see ``fq``); ``*:*`` for all
    :param fq: filter query in the Solr subset of docs/portal-api.md: fields ``id``/``name``,
        ``organization``, ``groups``, ``tags``, ``res_format``, ``license_id``, ``title``,
        ``text``, ``metadata_modified``/``metadata_created`` (date ranges, ``NOW`` math),
        ``num_resources``/``num_tags``; ``AND``/``OR``/``NOT``/``-``/``+``, parentheses, phrases
    :param fq_list: more filter queries, all of which must hold
    :param sort: ``field asc|desc``, comma-separated: ``score``, ``id``, ``name``,
        ``title_string``, ``metadata_modified``, ``metadata_created`` (default
        ``score desc, metadata_modified desc``)
    :param rows: page size (default 10, at most 1000); :param start: offset
    :param fl: fields of each result to return (comma- or space-separated, or a list)
    :param facet.field: JSON list of facet fields; ``facet.limit`` (default 50, -1 all);
        ``facet.mincount`` (default 1)
    :returns: ``count``, ``results``, ``sort``, ``facets``, ``search_facets``
    """
    p = params
    tree, text, rank = _query(p)
    rows = p.integer("rows", 10, maximum=SEARCH_ROWS_MAX)
    start = p.integer("start", 0)
    sort = ckan.sort_keys(p.text("sort"))
    fields = ckan.facet_fields(p.raw("facet.field"))
    facet_limit = p.integer("facet.limit", 50, minimum=-1)
    mincount = p.integer("facet.mincount", 1)
    fl = _fl(p)

    def where(snap: Snapshot, full_text: TextMatch) -> np.ndarray:
        return solr.evaluate(tree, snap, full_text, ckan.group_name, _license_of)

    try:
        found = query_datasets(ctx.session, where=where, text=text, rank=rank, sort=sort, offset=start, limit=rows,
                               facets=bool(fields), tag_facet="tags" in fields)
    except InvalidInput as exc:
        raise ckan.search_error(exc.zh, exc.en) from None
    results = ckan.packages(ctx.session, [(h.dataset, h.resource) for h in found.hits], ctx.base_url)
    if fl:
        results = [_pick(pkg, fl) for pkg in results]
    counts = _facet_counts(ctx.session, fields, found, mincount)
    facets, search = ckan.search_facets(counts, facet_limit, mincount)
    return {"count": found.total, "results": results, "sort": p.text("sort", ckan.DEFAULT_SORT),
            "facets": facets, "search_facets": search}


def _fl(params: Params) -> list[str]:
    raw = params.json("fl")
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        return [f for f in re.split(r"[\s,]+", raw) if f]
    if isinstance(raw, list) and all(isinstance(f, str) for f in raw):
        return [f.strip() for f in raw if f.strip()]
    raise invalid("fl", "应为字段名列表（逗号或空格分隔）", "Must be a list of field names (comma- or space-separated)")


def _pick(pkg: dict[str, Any], fl: list[str]) -> dict[str, Any]:
    """The ``fl`` fields of a package (``extras_<key>`` reads an extra, as CKAN's index
    names them); fields a package does not have are left out, as Solr does."""
    extras = {f"extras_{e['key']}": e["value"] for e in pkg.get("extras", [])}
    return {f: pkg[f] if f in pkg else extras[f] for f in fl if f in pkg or f in extras}


def _facet_counts(session: Session, fields: list[str], found: QueryResult, mincount: int
                  ) -> dict[str, dict[str, tuple[str, int]]]:
    out: dict[str, dict[str, tuple[str, int]]] = {}
    fac = found.facets
    for name in fields:
        if name == "organization":  # the snapshot's names: no department is loaded
            orgs = found.organizations
            out[name] = {orgs[v][0]: (orgs[v][1], n) for v, n in fac.get("department", []) if v in orgs}
        elif name == "groups":
            out[name] = {ckan.group_name(v): (v, n) for v, n in fac.get("theme", [])}
        elif name in ("license_id", "open_class"):
            out[name] = {(_license_of(v) if name == "license_id" else v): (v, n) for v, n in fac.get("open_class", [])}
        elif name in ("update_cycle", "format", "tags"):
            out[name] = {v: (v, n) for v, n in fac.get(name, [])}
        elif name == "res_format":
            out[name] = {FORMAT_LABELS[f]: (FORMAT_LABELS[f], found.total) for f in FORMATS}
    if mincount <= 0:  # every value the portal has, those not matched counted 0
        for name, values in _all_values(session, fields).items():
            for v, label in values.items():
                out[name].setdefault(v, (label, 0))
    return out


def _all_values(session: Session, fields: list[str]) -> dict[str, dict[str, str]]:
    everything = query_datasets(session, where=None, limit=0, facets=True)
    every = everything.facets
    out: dict[str, dict[str, str]] = {}
    for name in fields:
        if name == "groups":
            out[name] = {ckan.group_name(v): v for v, _ in every.get("theme", [])}
        elif name == "license_id":
            out[name] = {_license_of(v): v for v, _ in every.get("open_class", [])}
        elif name in ("open_class", "update_cycle", "format", "tags"):
            out[name] = {v: v for v, _ in every.get(name, [])}
        elif name == "organization":
            out[name] = {slug: title for slug, title in everything.organizations.values()}
    return out


def package_show(ctx: Context, params: Params) -> dict[str, Any]:
    """A visible dataset with its resources, organization, group and tags.

    :param id: the dataset's name (or resource code)
    """
    ds = get_dataset(ctx.session, params.required("id").lower())
    ctx.used(ds)
    return ckan.package(ctx.session, ds, ctx.base_url)


def resource_show(ctx: Context, params: Params) -> dict[str, Any]:
    """One resource (a download format of a visible dataset).

    :param id: the resource id (``<dataset>-<format>``)
    """
    rid = params.required("id")
    ds = dataset_of_resource(ctx.session, rid)
    ctx.used(ds)
    pkg = ckan.package(ctx.session, ds, ctx.base_url)
    canonical = ckan.resource_of(rid, ds)
    return next(r for r in pkg["resources"] if r["id"] == canonical)


def dataset_of_resource(session: Session, rid: str) -> PublicDataset:
    """The visible dataset a CKAN resource id (``<name>`` or ``<name>-<format>``) names."""
    name, _fmt = split_resource_id(rid.strip().lower())
    try:
        return get_dataset(session, name)
    except NotFound:
        raise NotFound(f"资源“{rid}”不存在或未开放", f"Resource {rid!r} not found",
                       code="resource_not_found", details={"action": "portal.api.resource"}) from None


def current_package_list_with_resources(ctx: Context, params: Params) -> list[dict[str, Any]]:
    """Visible datasets with their resources, most recently modified first (CKAN's
    ``current_package_list_with_resources``).

    :param limit: how many (default 10, at most 1000); :param offset: how many to skip;
    :param page: 1-based page of ``limit`` datasets (instead of ``offset``)
    """
    limit = params.integer("limit", 10, maximum=SEARCH_ROWS_MAX)
    page = params.integer("page", 0)
    offset = (page - 1) * limit if page >= 1 else params.integer("offset", 0)
    found = query_datasets(ctx.session, where=None, sort=(("modified", True),), offset=offset, limit=limit,
                           facets=False)
    return ckan.packages(ctx.session, [(h.dataset, h.resource) for h in found.hits], ctx.base_url)


def package_autocomplete(ctx: Context, params: Params) -> list[dict[str, str]]:
    """Datasets whose name or title contains ``q`` (case-insensitive), for type-ahead:
    ``[{"name", "title", "match_field", "match_displayed"}]``, name matches first.

    :param q: the text typed (required); :param limit: how many (default 10, at most 100)
    """
    q = params.required("q").casefold()
    limit = params.integer("limit", 10, maximum=100)
    snap = index.snapshot(ctx.session)
    order = snap.sorted_rows([("name", False)], np.ones(snap.size, dtype=bool))
    by_name = [i for i in order if q in snap.names[i].casefold()]
    by_title = [i for i in order if q in snap.titles[i].casefold() and q not in snap.names[i].casefold()]
    out = []
    for i, field in [*((i, "name") for i in by_name), *((i, "title") for i in by_title)][:limit]:
        name, title = snap.names[i], snap.titles[i]
        out.append({"name": name, "title": title, "match_field": field,
                    "match_displayed": name if field == "name" else f"{title} ({name})"})
    return out


RESOURCE_FIELDS = ("id", "name", "format", "url", "package_id", "mimetype")


def resource_search(ctx: Context, params: Params) -> dict[str, Any]:
    """Resources whose fields contain the given text (CKAN's ``resource_search``).

    :param query: ``field:text`` or a list of them, all of which must hold; fields ``id``,
        ``name``, ``format``, ``url``, ``package_id``, ``mimetype`` (case-insensitive contains)
    :param order_by: one of those fields (default: dataset name, then format)
    :param offset: how many to skip; :param limit: how many (default 100, at most 1000)
    :returns: ``count`` and ``results`` (resource dicts)
    """
    terms = _resource_terms(params)
    order_by = params.text("order_by")
    if order_by is not None and order_by not in RESOURCE_FIELDS:
        raise invalid("order_by", f"只能按 {'、'.join(RESOURCE_FIELDS)} 排序",
                      f"Use one of {', '.join(RESOURCE_FIELDS)}")
    offset, limit = params.integer("offset", 0), params.integer("limit", 100, maximum=SEARCH_ROWS_MAX)
    snap = index.snapshot(ctx.session)
    base = ctx.base_url.rstrip("/")
    found: list[dict[str, str]] = []
    for i in snap.sorted_rows([("name", False)], np.ones(snap.size, dtype=bool)):
        name, title = snap.names[i], snap.titles[i]
        for fmt in FORMATS:
            values = {"id": f"{name}-{fmt}", "package_id": name, "name": f"{title}（{FORMAT_LABELS[fmt]}）",
                      "format": FORMAT_LABELS[fmt], "mimetype": ckan.MIME[fmt],
                      "url": base + ckan.DOWNLOAD_PATH.format(name=name, fmt=fmt)}
            if all(text in values[field].casefold() for field, text in terms):
                found.append(values)
    if order_by:
        found.sort(key=lambda v: v[order_by])
    page = found[offset:offset + limit]
    pkgs = {pkg["name"]: pkg for pkg in ckan.packages(ctx.session, ckan.all_datasets_by_name(
        ctx.session, sorted({v["package_id"] for v in page})), ctx.base_url)}
    results = [r for v in page if v["package_id"] in pkgs for r in pkgs[v["package_id"]]["resources"]
               if r["id"] == v["id"]]
    return {"count": len(found), "results": results}


def _resource_terms(params: Params) -> list[tuple[str, str]]:
    raw = params.json("query")
    items = [raw] if isinstance(raw, str) else raw
    if not items or not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise invalid("query", "应为“字段:文本”或其列表", "Must be field:term or a list of them")
    out = []
    for item in items:
        field, sep, text = item.partition(":")
        if not sep or field.strip() not in RESOURCE_FIELDS:
            raise invalid("query", f"“{item[:60]}”应为“字段:文本”，字段为 {'、'.join(RESOURCE_FIELDS)}",
                          f"{item[:60]!r} must be field:term with a field among {', '.join(RESOURCE_FIELDS)}")
        out.append((field.strip(), text.strip().casefold()))
    return out


def package_activity_list(ctx: Context, params: Params) -> list[dict[str, Any]]:
    """A visible dataset's activity, newest first: one ``new package`` for its first
    publication, one ``changed package`` per later version or withdrawal of a version.

    :param id: the dataset's name; :param offset: how many to skip; :param limit: how many
        (default 31, at most 100)
    """
    ds = get_dataset(ctx.session, params.required("id").lower())
    offset, limit = params.integer("offset", 0), params.integer("limit", 31, maximum=100)
    dept = ckan.departments_of(ctx.session, [ds.resource.provider_department_id])[ds.resource.provider_department_id]
    pubs = sorted(publications(ctx.session, ds.resource.id), key=lambda p: (p.created_at, p.id))
    events: list[tuple[Any, str, Any]] = []
    for n, pub in enumerate(pubs):
        events.append((pub.created_at, "new package" if n == 0 else "changed package", pub))
        if pub.withdrawn_at is not None:
            events.append((pub.withdrawn_at, "changed package", pub))
    events.sort(key=lambda e: (ckan.iso(e[0]) or "", e[2].id), reverse=True)
    out = []
    for when, kind, pub in events[offset:offset + limit]:
        withdrawn = pub.withdrawn_at is not None and when == pub.withdrawn_at
        out.append({"id": f"{ds.name}-v{pub.version}-{pub.id}{'-withdrawn' if withdrawn else ''}",
                    "timestamp": ckan.iso(when), "user_id": ckan.org_name(dept), "object_id": ds.name,
                    "activity_type": kind,
                    "data": {"package": {"id": ds.name, "name": ds.name, "title": ds.resource.name,
                                         "version": str(pub.version), "state": "deleted" if withdrawn else "active"}}})
    return out
