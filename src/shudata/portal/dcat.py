"""DCAT-AP 3.0 export of the open-data portal: the catalog (paged) and one dataset.

Only datasets from :func:`shudata.portal.service.visible` appear, so an unpublished,
withdrawn or 不予开放 entry is never described. The graph has the mandatory DCAT-AP 3.0
classes and properties and the main recommended ones:

- ``dcat:Catalog``: title and description (zh, en), publisher, homepage, language, modified,
  theme taxonomy, ``dcat:dataset`` and ``dcat:service``; paged with ``hydra:PagedCollection``
  (``hydra:totalItems``, ``itemsPerPage``, ``firstPage``, ``lastPage``, ``nextPage``,
  ``previousPage``), as ckanext-dcat and the DCAT-AP paging guidance do;
- ``dcat:Dataset``: identifier (the resource code), title, description, publisher (the provider
  department as ``foaf:Organization``), contact point (``vcard:Organization``), keywords,
  theme (a ``skos:Concept`` of the portal's theme scheme), issued, modified, accrual periodicity
  (EU frequency authority), landing page, access rights (EU access-right authority: PUBLIC for
  无条件开放, RESTRICTED for 有条件开放), spatial coverage (province or city of the department's
  region code), language;
- ``dcat:Distribution`` for each download format: access and download URL, ``dct:format`` (EU
  file-type authority), ``dcat:mediaType`` (IANA), licence, issued, access service; each
  distribution whose file is prepared (:mod:`shudata.portal.downloads`: Parquet is the published
  file itself, CSV/JSON/XLSX are written once after publication) also has ``dcat:byteSize`` and an
  SPDX SHA-256 checksum of exactly the bytes a download returns;
- ``dcat:DataService``: the CKAN-compatible Action API (``datastore_search`` serves the rows).

Nodes used as values are typed with the class the DCAT-AP 3.0 SHACL shapes expect as range
(``dct:LicenseDocument``, ``dct:Frequency``, ``foaf:Document``, ``rdfs:Resource`` for URLs …),
so the graph validates without RDFS inference. :func:`serialize` writes Turtle, JSON-LD or RDF/XML.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import ensure_aware, utcnow
from shudata.core.config import Settings
from shudata.portal import downloads
from shudata.portal.data import FORMAT_LABELS, FORMATS, resource_id
from shudata.portal.models import PortalDataset, PortalPublication
from shudata.portal.service import CONDITIONAL, OPEN, PublicDataset, visible
from shudata.security.models import Department
from shudata.standards import regions

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EU = "http://publications.europa.eu/resource/authority/"
FREQ = Namespace(EU + "frequency/")
ACCESS = Namespace(EU + "access-right/")
FILE_TYPE = Namespace(EU + "file-type/")
LANG = Namespace(EU + "language/")
IANA = "http://www.iana.org/assignments/media-types/"
DCAT_AP_3 = URIRef("http://data.europa.eu/r5r/")  # the DCAT-AP specification, as dct:conformsTo
DCAT_VERSION = URIRef(str(DCAT) + "version")  # DCAT 3; rdflib's DCAT namespace is DCAT 2

PAGE_SIZE = 100
"""Datasets per page of ``/catalog.ttl`` and ``/catalog.jsonld``."""

#: 更新周期 → EU frequency authority code.
FREQUENCIES: dict[str, str] = {
    "实时": "UPDATE_CONT", "每日": "DAILY", "每周": "WEEKLY", "每月": "MONTHLY", "每季度": "QUARTERLY",
    "每半年": "ANNUAL_2", "每年": "ANNUAL", "不定期": "IRREG",
}
ACCESS_RIGHTS = {OPEN: "PUBLIC", CONDITIONAL: "RESTRICTED"}
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json", "parquet": "application/vnd.apache.parquet",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FILE_TYPES = {"csv": "CSV", "json": "JSON", "parquet": "PARQUET", "xlsx": "XLSX"}

#: Licence of 无条件开放 data: CC BY 4.0 (the same licence the CKAN API's ``license_list`` names);
#: 有条件开放 data is used under the data-use agreement accepted when applying for access.
OPEN_LICENCE = URIRef("https://creativecommons.org/licenses/by/4.0/")
OPEN_LICENCE_TITLE = ("知识共享署名 4.0 国际许可协议 (CC BY 4.0)", "Creative Commons Attribution 4.0 International")
CONDITIONAL_LICENCE_PATH = "/portal/developer/apply#agreement"
CONDITIONAL_LICENCE_TITLE = ("有条件开放数据使用协议（须申请获批）",
                             "Data-use agreement for conditionally open data (approved application required)")

CONTEXT: dict[str, str] = {
    "dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "skos": str(SKOS), "vcard": str(VCARD),
    "spdx": str(SPDX), "hydra": str(HYDRA), "xsd": str(XSD), "rdfs": str(RDFS), "adms": str(ADMS),
}


@dataclass(frozen=True)
class Urls:
    """The portal's public URLs, absolute (``base`` has no trailing slash)."""

    base: str

    @property
    def catalog(self) -> URIRef:
        return URIRef(f"{self.base}/catalog")

    def hashed(self, fragment: str) -> URIRef:
        """A node of the catalog document (publisher, themes, regions, the API)."""
        return URIRef(f"{self.base}/catalog#{fragment}")

    def page(self, name: str) -> str:
        return f"{self.base}/portal/datasets/{quote(name)}"

    def dataset(self, name: str) -> URIRef:
        return URIRef(self.page(name) + "#dataset")

    def distribution(self, ds: PublicDataset, fmt: str) -> URIRef:
        return URIRef(self.page(ds.name) + "#" + quote(resource_id(ds, fmt)))

    def download(self, name: str, fmt: str) -> URIRef:
        return URIRef(f"{self.page(name)}/download.{fmt}")

    def catalog_page(self, ext: str, page: int) -> str:
        return f"{self.base}/catalog.{ext}?page={page}"


@dataclass(frozen=True)
class Paging:
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def links(self, urls: Urls, ext: str) -> dict[str, str]:
        """``rel → URL`` of the neighbouring pages (first, last, and prev/next when they exist)."""
        out = {"first": urls.catalog_page(ext, 1), "last": urls.catalog_page(ext, self.last)}
        if self.page > 1:
            out["prev"] = urls.catalog_page(ext, min(self.page - 1, self.last))
        if self.page < self.last:
            out["next"] = urls.catalog_page(ext, self.page + 1)
        return out


def _lit(text: str, lang: str) -> Literal:
    return Literal(text, lang=lang)


def _when(value: dt.datetime | None) -> Literal | None:
    if value is None:
        return None
    return Literal(ensure_aware(value).astimezone(dt.UTC).replace(microsecond=0), datatype=XSD.dateTime)


def _typed(g: Graph, node: URIRef, *classes: URIRef) -> URIRef:
    for cls in classes:
        g.add((node, RDF.type, cls))
    return node


def new_graph() -> Graph:
    g = Graph()
    for prefix, ns in CONTEXT.items():
        g.bind(prefix, Namespace(ns))
    return g


# -- shared nodes ------------------------------------------------------------------------------

def _portal_name(node_code: str) -> tuple[str, str]:
    region = regions.name_of(node_code) or "四川省"
    return f"{region}公共信息资源开放平台", f"Open government data portal of {region} (shudata)"


def add_data_service(g: Graph, urls: Urls) -> URIRef:
    """The CKAN-compatible Action API; ``datastore_search`` is the row endpoint."""
    svc = _typed(g, urls.hashed("ckan-api"), DCAT.DataService)
    if (svc, DCTERMS.title, None) in g:
        return svc
    g.add((svc, DCTERMS.title, _lit("CKAN 兼容数据接口（datastore_search）", "zh")))
    g.add((svc, DCTERMS.title, _lit("CKAN-compatible Action API (datastore_search)", "en")))
    g.add((svc, DCTERMS.description, _lit(
        "按 CKAN Action API 约定查询开放数据集的数据行：GET /api/3/action/datastore_search?resource_id=…；"
        "有条件开放的数据须在请求头 Authorization 中提供已获批的 API 密钥。", "zh")))
    g.add((svc, DCTERMS.description, _lit(
        "Rows of the open datasets through the CKAN Action API: GET /api/3/action/datastore_search?resource_id=…; "
        "conditionally open data needs an approved API key in the Authorization header.", "en")))
    endpoint = _typed(g, URIRef(f"{urls.base}/api/3/action/datastore_search"), RDFS.Resource)
    g.add((svc, DCAT.endpointURL, endpoint))
    description = _typed(g, URIRef(f"{urls.base}/openapi.json"), RDFS.Resource)
    g.add((svc, DCAT.endpointDescription, description))
    standard = _typed(g, URIRef("https://docs.ckan.org/en/2.10/api/"), DCTERMS.Standard)
    g.add((svc, DCTERMS.conformsTo, standard))
    return svc


def _theme_scheme(g: Graph, urls: Urls) -> URIRef:
    scheme = _typed(g, urls.hashed("themes"), SKOS.ConceptScheme)
    if (scheme, DCTERMS.title, None) not in g:
        g.add((scheme, DCTERMS.title, _lit("开放数据主题", "zh")))
        g.add((scheme, DCTERMS.title, _lit("Open data themes", "en")))
    return scheme


def add_theme(g: Graph, urls: Urls, theme: str) -> URIRef:
    scheme = _theme_scheme(g, urls)
    concept = _typed(g, urls.hashed("theme-" + quote(theme, safe="")), SKOS.Concept)
    g.add((concept, SKOS.prefLabel, _lit(theme, "zh")))
    g.add((concept, SKOS.inScheme, scheme))
    return concept


def add_organisation(g: Graph, urls: Urls, dept: Department) -> URIRef:
    org = _typed(g, urls.hashed("org-" + dept.uscc.lower()), FOAF.Agent, FOAF.Organization)
    g.add((org, FOAF.name, _lit(dept.name, "zh")))
    g.add((org, DCTERMS.identifier, Literal(dept.uscc)))
    return org


def add_contact(g: Graph, urls: Urls, dept: Department) -> URIRef:
    """The provider as a vCard organisation; the public reaches it through 公众数据需求."""
    contact = _typed(g, urls.hashed("contact-" + dept.uscc.lower()), VCARD.Kind, VCARD.Organization)
    g.add((contact, VCARD.fn, _lit(dept.name, "zh")))
    g.add((contact, VCARD.hasURL, URIRef(f"{urls.base}/portal/requests")))
    return contact


def region_of(code: str | None) -> tuple[str, str] | None:
    """``(code, name)`` of the province (``xx0000``) or city (``xxxx00``) of a 行政区划 code.

    >>> region_of("510104"), region_of("510000"), region_of(None)
    (('510100', '成都市'), ('510000', '四川省'), None)
    """
    if not code or len(code) != 6 or not code.isdigit():
        return None
    target = regions.province_of(code) if code.endswith("0000") else regions.city_of(code)
    name = regions.name_of(target) or regions.name_of(regions.province_of(code))
    if name is None:
        return None
    return target, name


def add_location(g: Graph, urls: Urls, code: str | None) -> URIRef | None:
    region = region_of(code)
    if region is None:
        return None
    loc = _typed(g, urls.hashed("region-" + region[0]), DCTERMS.Location)
    g.add((loc, SKOS.prefLabel, _lit(region[1], "zh")))
    g.add((loc, SKOS.notation, Literal(region[0])))
    return loc


def add_licence(g: Graph, urls: Urls, open_type: str) -> URIRef:
    if open_type == CONDITIONAL:
        lic, (zh, en) = URIRef(urls.base + CONDITIONAL_LICENCE_PATH), CONDITIONAL_LICENCE_TITLE
    else:
        lic, (zh, en) = OPEN_LICENCE, OPEN_LICENCE_TITLE
    _typed(g, lic, DCTERMS.LicenseDocument)
    g.add((lic, DCTERMS.title, _lit(zh, "zh")))
    g.add((lic, DCTERMS.title, _lit(en, "en")))
    return lic


def _authority(g: Graph, node: URIRef, cls: URIRef) -> URIRef:
    return _typed(g, node, cls)


# -- dataset ----------------------------------------------------------------------------------

def add_dataset(g: Graph, urls: Urls, ds: PublicDataset, *, service: URIRef | None = None,
                settings: Settings | None = None) -> URIRef:
    """Describe one visible dataset, its distributions, publisher, contact point and theme."""
    res, dsrow = ds.resource, ds.dataset
    node = _typed(g, urls.dataset(ds.name), DCAT.Dataset)
    service = service or add_data_service(g, urls)
    g.add((service, DCAT.servesDataset, node))
    g.add((node, DCTERMS.identifier, Literal(res.code)))
    g.add((node, DCTERMS.title, _lit(res.name, "zh")))
    g.add((node, DCTERMS.description, _lit(res.abstract or res.name, "zh")))
    g.add((node, DCTERMS.language, _authority(g, LANG.ZHO, DCTERMS.LinguisticSystem)))
    provider: Department = res.provider
    g.add((node, DCTERMS.publisher, add_organisation(g, urls, provider)))
    g.add((node, DCAT.contactPoint, add_contact(g, urls, provider)))
    location = add_location(g, urls, provider.region_code)
    if location is not None:
        g.add((node, DCTERMS.spatial, location))
    g.add((node, DCAT.theme, add_theme(g, urls, dsrow.theme)))
    for tag in dict.fromkeys(str(t).strip() for t in (res.tags or []) if str(t).strip()):
        g.add((node, DCAT.keyword, _lit(tag, "zh")))
    for prop, value in ((DCTERMS.issued, _when(dsrow.first_published_at)),
                        (DCTERMS.modified, _when(dsrow.published_at))):
        if value is not None:
            g.add((node, prop, value))
    freq = FREQUENCIES.get(res.update_cycle, "UNKNOWN")
    g.add((node, DCTERMS.accrualPeriodicity, _authority(g, FREQ[freq], DCTERMS.Frequency)))
    rights = ACCESS_RIGHTS.get(res.open_type, "RESTRICTED")
    g.add((node, DCTERMS.accessRights, _authority(g, ACCESS[rights], DCTERMS.RightsStatement)))
    landing = _typed(g, URIRef(urls.page(ds.name)), FOAF.Document)
    g.add((node, DCAT.landingPage, landing))
    g.add((node, DCAT_VERSION, Literal(str(dsrow.version))))
    licence = add_licence(g, urls, res.open_type)
    files = downloads.all_facts(settings, ds.publication)
    for fmt in FORMATS:
        g.add((node, DCAT.distribution, _add_distribution(g, urls, ds, fmt, licence, service, files.get(fmt))))
    return node


def _add_distribution(g: Graph, urls: Urls, ds: PublicDataset, fmt: str, licence: URIRef,
                      service: URIRef, file: tuple[int, str] | None = None) -> URIRef:
    pub = ds.publication
    dist = _typed(g, urls.distribution(ds, fmt), DCAT.Distribution)
    label = FORMAT_LABELS[fmt]
    g.add((dist, DCTERMS.title, _lit(f"{ds.resource.name}（{label}）", "zh")))
    g.add((dist, DCTERMS.identifier, Literal(resource_id(ds, fmt))))
    url = _typed(g, urls.download(ds.name, fmt), RDFS.Resource)
    g.add((dist, DCAT.accessURL, url))
    g.add((dist, DCAT.downloadURL, url))
    g.add((dist, DCAT.accessService, service))
    g.add((dist, DCTERMS.format, _authority(g, FILE_TYPE[FILE_TYPES[fmt]], DCTERMS.MediaTypeOrExtent)))
    g.add((dist, DCAT.mediaType, _authority(g, URIRef(IANA + MEDIA_TYPES[fmt]), DCTERMS.MediaType)))
    g.add((dist, DCTERMS.license, licence))
    issued = _when(pub.created_at)
    if issued is not None:
        g.add((dist, DCTERMS.issued, issued))
    if file is None and fmt == "parquet" and pub.sha256:  # the published file itself
        file = (int(pub.bytes or 0), pub.sha256)
    if file is not None:  # a prepared download (shudata.portal.downloads): its size and digest are known
        g.add((dist, DCAT.byteSize, Literal(file[0], datatype=XSD.nonNegativeInteger)))
        checksum = BNode()
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, _authority(g, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)))
        g.add((checksum, SPDX.checksumValue, Literal(file[1].lower(), datatype=XSD.hexBinary)))
        g.add((dist, SPDX.checksum, checksum))
    return dist


# -- catalog ----------------------------------------------------------------------------------

def count_visible(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(visible().subquery())) or 0)


def _last_modified(session: Session) -> dt.datetime | None:
    sub = visible().subquery()
    return session.scalar(select(func.max(sub.c.published_at)))


def public_datasets(session: Session, *, offset: int = 0, limit: int | None = None) -> list[PublicDataset]:
    """Visible datasets in a stable order (newest first by first publication, then id), with
    their current publication; one query for the datasets and one for the publications."""
    stmt = visible().order_by(PortalDataset.first_published_at.desc(), PortalDataset.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows: Sequence[tuple[PortalDataset, CatalogResource]] = [(r[0], r[1]) for r in session.execute(stmt).all()]
    if not rows:
        return []
    wanted = {(res.id, ds.version) for ds, res in rows}
    pubs: dict[tuple[int, int], PortalPublication] = {}
    for pub in session.scalars(select(PortalPublication).where(
            PortalPublication.resource_id.in_([res.id for _, res in rows]),
            PortalPublication.status == "published").order_by(PortalPublication.id)):
        if (pub.resource_id, pub.version) in wanted and pub.file is not None:
            pubs[(pub.resource_id, pub.version)] = pub  # the newest (highest id) wins
    out: list[PublicDataset] = []
    for ds, res in rows:
        if ds.version is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("ds.version is unexpectedly None")
        current = pubs.get((res.id, ds.version))
        if current is not None:
            out.append(PublicDataset(ds, res, current))
    return out


def add_catalog(g: Graph, urls: Urls, node_code: str, datasets: Iterable[PublicDataset],
                modified: dt.datetime | None, settings: Settings | None = None) -> URIRef:
    cat = _typed(g, urls.catalog, DCAT.Catalog)
    zh, en = _portal_name(node_code)
    g.add((cat, DCTERMS.title, _lit(zh, "zh")))
    g.add((cat, DCTERMS.title, _lit(en, "en")))
    g.add((cat, DCTERMS.description, _lit(
        f"{zh}的开放数据目录：经开放闸门审核发布的无条件开放和有条件开放数据集（DCAT-AP 3.0）。", "zh")))
    g.add((cat, DCTERMS.description, _lit(
        f"Catalogue of the {en}: the unconditionally and conditionally open datasets published through the "
        "open-data gate (DCAT-AP 3.0).", "en")))
    publisher = _typed(g, urls.hashed("publisher"), FOAF.Agent, FOAF.Organization)
    g.add((publisher, FOAF.name, _lit(zh, "zh")))
    g.add((publisher, FOAF.name, _lit(en, "en")))
    g.add((cat, DCTERMS.publisher, publisher))
    g.add((cat, FOAF.homepage, _typed(g, URIRef(f"{urls.base}/portal"), FOAF.Document)))
    g.add((cat, DCTERMS.language, _authority(g, LANG.ZHO, DCTERMS.LinguisticSystem)))
    g.add((cat, DCTERMS.conformsTo, _typed(g, DCAT_AP_3, DCTERMS.Standard)))
    location = add_location(g, urls, node_code)
    if location is not None:
        g.add((cat, DCTERMS.spatial, location))
    g.add((cat, DCAT.themeTaxonomy, _theme_scheme(g, urls)))
    g.add((cat, DCTERMS.modified, _when(modified or utcnow()) or Literal(utcnow(), datatype=XSD.dateTime)))
    service = add_data_service(g, urls)
    g.add((cat, DCAT.service, service))
    for ds in datasets:
        g.add((cat, DCAT.dataset, add_dataset(g, urls, ds, service=service, settings=settings)))
    return cat


def add_paging(g: Graph, urls: Urls, paging: Paging, ext: str) -> None:
    node = URIRef(urls.catalog_page(ext, paging.page))
    g.add((node, RDF.type, HYDRA.PagedCollection))
    g.add((node, HYDRA.totalItems, Literal(paging.total, datatype=XSD.integer)))
    g.add((node, HYDRA.itemsPerPage, Literal(paging.size, datatype=XSD.integer)))
    rels = {"first": HYDRA.firstPage, "last": HYDRA.lastPage, "next": HYDRA.nextPage, "prev": HYDRA.previousPage}
    for rel, url in paging.links(urls, ext).items():
        g.add((node, rels[rel], Literal(url)))


def catalog_graph(session: Session, urls: Urls, node_code: str, page: int, ext: str,
                  settings: Settings | None = None) -> tuple[Graph, Paging]:
    """One page of the catalog (``PAGE_SIZE`` datasets) with its paging description; with
    ``settings``, every distribution prepared for download states its size and SHA-256."""
    paging = Paging(page=page, total=count_visible(session), size=PAGE_SIZE)
    g = new_graph()
    datasets = public_datasets(session, offset=paging.offset, limit=paging.size)
    add_catalog(g, urls, node_code, datasets, _last_modified(session), settings)
    add_paging(g, urls, paging, ext)
    return g, paging


def dataset_graph(urls: Urls, ds: PublicDataset, settings: Settings | None = None) -> Graph:
    g = new_graph()
    add_dataset(g, urls, ds, settings=settings)
    return g


SERIALIZATIONS = ("ttl", "jsonld", "rdf")


def serialize(g: Graph, fmt: str) -> bytes:
    """``fmt`` is ``ttl`` (Turtle), ``jsonld`` (JSON-LD with a compact context) or ``rdf`` (RDF/XML)."""
    if fmt == "jsonld":
        out = g.serialize(format="json-ld", context=CONTEXT, auto_compact=True, ensure_ascii=False)
    elif fmt == "rdf":
        out = g.serialize(format="pretty-xml")
    else:
        out = g.serialize(format="turtle")
    return out.encode("utf-8")


# -- sitemap ----------------------------------------------------------------------------------

SITEMAP_MAX = 50_000  # URLs in one sitemap file (sitemaps.org)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def sitemap_entries(session: Session, *, offset: int, limit: int) -> list[tuple[str, dt.datetime]]:
    stmt = (visible().with_only_columns(PortalDataset.name, PortalDataset.published_at)
            .order_by(PortalDataset.id).offset(offset).limit(limit))
    return [(r[0], r[1]) for r in session.execute(stmt).all()]


def sitemap(session: Session, urls: Urls, page: int | None = None) -> str | None:
    """``sitemap.xml``: the portal home, the dataset list and every visible dataset page.

    Above ``SITEMAP_MAX`` URLs the bare ``/sitemap.xml`` is a sitemap index of
    ``/sitemap.xml?page=N``. ``None`` for a page past the end.
    """
    total = count_visible(session)
    fixed = [f"{urls.base}/portal", f"{urls.base}/portal/datasets"]
    per_page = SITEMAP_MAX - len(fixed)
    pages = max(1, math.ceil(total / per_page))
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if page is None and pages > 1:
        items = "".join(f"  <sitemap><loc>{_xml(f'{urls.base}/sitemap.xml?page={n}')}</loc></sitemap>\n"
                        for n in range(1, pages + 1))
        return f'{head}<sitemapindex xmlns="{SITEMAP_NS}">\n{items}</sitemapindex>\n'
    page = page or 1
    if page > pages:
        return None
    lines = [f"  <url><loc>{_xml(u)}</loc><changefreq>daily</changefreq></url>\n" for u in fixed] if page == 1 else []
    for name, published in sitemap_entries(session, offset=(page - 1) * per_page, limit=per_page):
        lastmod = ensure_aware(published).astimezone(dt.UTC).date().isoformat()
        lines.append(f"  <url><loc>{_xml(urls.page(name))}</loc><lastmod>{lastmod}</lastmod></url>\n")
    return f'{head}<urlset xmlns="{SITEMAP_NS}">\n{"".join(lines)}</urlset>\n'
