"""DCAT-AP 3.0 export and sitemap: parsed with rdflib, validated with pyshacl against the
official DCAT-AP 3.0.1 SHACL shapes (tests/data/dcat-ap, see its PROVENANCE.md); only visible
datasets appear (never unpublished, withdrawn or 不予开放 ones)."""

from __future__ import annotations

import functools
import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from shudata.portal import dcat
from shudata.portal import service as P
from support.portal import CODES

SHAPES = Path(__file__).resolve().parents[2] / "data" / "dcat-ap" / "dcat-ap-SHACL.ttl"
BASE = "http://testserver"
SPDX = dcat.SPDX
HYDRA = dcat.HYDRA


SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES_SHA256 = "ed668569a6f4d888b54c655352a270fac778c06b3af0388da125a10549107eba"  # PROVENANCE.md
RELEASE = "https://semiceu.github.io/DCAT-AP/releases/3.0.1"
DATA_SERVICE_SHAPE = URIRef(f"{RELEASE}#dcat:DataServiceShape")
# listed by the release's DataServiceShape, defined nowhere in the file (PROVENANCE.md)
UNDEFINED_PROPERTY_SHAPES = frozenset(
    URIRef(f"{RELEASE}#dcat:DataServiceShape/{h}")
    for h in ("dc08f4dca4377fade57f89454e3fa06a8389d314", "eb3ac4e4fdde2e2588a9502c5956060a18c5c99f"))


@functools.cache
def shapes() -> Graph:
    """The official 3.0.1 shapes, every constraint as released: no shape is retargeted and no
    constraint added or changed. One dangling reference is dropped in memory (PROVENANCE.md):
    the release's ``DataServiceShape`` still lists two ``sh:property`` shapes whose definitions
    3.0.1 deleted (the 3.0.0 ``sh:class rdfs:Resource`` ranges of ``dcat:endpointDescription`` and
    ``dcat:endpointURL``); pyshacl refuses a property shape without ``sh:path``, so any graph with
    a ``dcat:DataService`` would fail to validate at all. The assert drops the correction
    deliberately once a fixed release replaces the file."""
    g = Graph().parse(SHAPES, format="turtle")
    dangling = {o for o in g.objects(None, SH.property) if (o, SH.path, None) not in g}
    assert dangling == UNDEFINED_PROPERTY_SHAPES, dangling
    for node in dangling:
        g.remove((DATA_SERVICE_SHAPE, SH.property, node))
    return g


def validate(g: Graph) -> tuple[bool, str]:
    conforms, _report, text = pyshacl.validate(g, shacl_graph=shapes(), inference="none", advanced=False)
    return bool(conforms), str(text)


def test_shapes_are_the_3_0_1_release_file():
    """The shipped file is byte for byte the one PROVENANCE.md describes, and 3.0.1 no longer
    requires ``dcat:inSeries`` of every dataset (the 3.0.0 ``DatasetInSeriesShape``)."""
    assert hashlib.sha256(SHAPES.read_bytes()).hexdigest() == SHAPES_SHA256
    g = shapes()
    assert set(g.subjects(URIRef("http://www.w3.org/2000/01/rdf-schema#member"), None)) == {URIRef(RELEASE)}
    in_series = set(g.subjects(SH.path, URIRef(f"{DCAT}inSeries")))  # DCAT 3, not in rdflib's DCAT
    assert in_series and not any((s, SH.minCount, None) in g for s in in_series)
    assert (None, SH.targetSubjectsOf, None) not in g


def _publish(rt, settings, actor, *keys):
    with rt.transaction() as s:
        for key in keys:
            P.publish(session=s, settings=settings, actor=actor, resource=CODES[key])


def _name(key: str) -> str:
    return CODES[key].replace("/", "-")


def _dataset(name: str) -> URIRef:
    return URIRef(f"{BASE}/portal/datasets/{name}#dataset")


def _get_graph(client, url: str, fmt: str) -> Graph:
    r = client.get(url)
    assert r.status_code == 200, r.text
    if fmt == "turtle":
        assert r.headers["content-type"] == "text/turtle; charset=utf-8"
    else:
        assert r.headers["content-type"].startswith("application/ld+json")
    return Graph().parse(data=r.content.decode("utf-8"), format=fmt)


@pytest.mark.parametrize(("url", "fmt"), [("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld")])
def test_catalog_parses_and_conforms_to_dcat_ap_3(client, published, url, fmt):
    g = _get_graph(client, url, fmt)
    conforms, report = validate(g)
    assert conforms, report
    cat = URIRef(f"{BASE}/catalog")
    assert (cat, RDF.type, DCAT.Catalog) in g
    expected = {str(_dataset(_name(k))) for k in ("open", "people", "cond")}
    assert {str(o) for o in g.objects(cat, DCAT.dataset)} == expected
    assert g.value(cat, DCAT.service) == URIRef(f"{BASE}/catalog#ckan-api")
    assert g.value(cat, FOAF.homepage) == URIRef(f"{BASE}/portal")
    assert Literal("四川省公共信息资源开放平台", lang="zh") in set(g.objects(cat, DCTERMS.title))
    # Chinese text survives both serializations
    ds = _dataset(_name("open"))
    assert Literal("四川省各市常住人口", lang="zh") in set(g.objects(ds, DCTERMS.title))
    assert g.value(ds, DCTERMS.identifier) == Literal(CODES["open"])
    assert Literal("人口", lang="zh") in {g.value(t, SKOS.prefLabel) for t in g.objects(ds, DCAT.theme)}
    assert Literal("测试", lang="zh") in set(g.objects(ds, DCAT.keyword))
    publisher = g.value(ds, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Organization) in g and str(g.value(publisher, FOAF.name)) == "省统计局"
    assert g.value(ds, DCTERMS.accrualPeriodicity) == dcat.FREQ.ANNUAL
    assert g.value(ds, DCTERMS.accessRights) == dcat.ACCESS.PUBLIC
    assert g.value(_dataset(_name("cond")), DCTERMS.accessRights) == dcat.ACCESS.RESTRICTED
    assert g.value(ds, DCAT.landingPage) == URIRef(f"{BASE}/portal/datasets/{_name('open')}")
    assert str(g.value(g.value(ds, DCTERMS.spatial), SKOS.prefLabel)) == "四川省"
    contact = g.value(ds, DCAT.contactPoint)
    assert str(g.value(contact, dcat.VCARD.fn)) == "省统计局"
    # Chinese titles are not escaped away in the raw body either
    assert "四川省各市常住人口" in client.get(url).content.decode("utf-8")


def test_distributions(client, published, rt):
    g = _get_graph(client, "/catalog.ttl", "turtle")
    ds = _dataset(_name("open"))
    dists = list(g.objects(ds, DCAT.distribution))
    assert len(dists) == 4
    by_type = {str(g.value(d, DCAT.mediaType)).rsplit("media-types/", 1)[1]: d for d in dists}
    assert set(by_type) == {"text/csv", "application/json", "application/vnd.apache.parquet",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    parquet = by_type["application/vnd.apache.parquet"]
    assert g.value(parquet, DCAT.downloadURL) == URIRef(f"{BASE}/portal/datasets/{_name('open')}/download.parquet")
    assert g.value(parquet, DCAT.accessURL) is not None
    assert g.value(parquet, DCTERMS.format) == dcat.FILE_TYPE.PARQUET
    assert g.value(parquet, DCTERMS.license) == dcat.OPEN_LICENCE
    size = g.value(parquet, DCAT.byteSize)
    assert isinstance(size, Literal) and size.datatype == XSD.nonNegativeInteger
    checksum = g.value(parquet, SPDX.checksum)
    with rt.transaction() as s:
        pub = P.get_dataset(s, CODES["open"]).publication
        assert int(size) == pub.bytes > 0
        assert str(g.value(checksum, SPDX.checksumValue)) == pub.sha256
    assert g.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    cond = _dataset(_name("cond"))
    licences = {g.value(d, DCTERMS.license) for d in g.objects(cond, DCAT.distribution)}
    assert licences == {URIRef(BASE + dcat.CONDITIONAL_LICENCE_PATH)}
    service = URIRef(f"{BASE}/catalog#ckan-api")
    assert g.value(service, DCAT.endpointURL) == URIRef(f"{BASE}/api/3/action/datastore_search")
    assert set(g.objects(service, DCAT.servesDataset)) == set(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset))


def test_validation_catches_a_broken_graph(client, published):
    g = _get_graph(client, "/catalog.ttl", "turtle")
    ds = _dataset(_name("open"))
    g.remove((ds, DCTERMS.title, None))
    conforms, report = validate(g)
    assert not conforms and "title" in report
    g2 = _get_graph(client, "/catalog.ttl", "turtle")
    for d in list(g2.objects(ds, DCAT.distribution)):
        g2.remove((d, DCAT.accessURL, None))
    conforms, report = validate(g2)
    assert not conforms and "accessURL" in report


def test_hidden_datasets_never_appear(client, rt, settings, published):
    with rt.transaction() as s:  # people withdrawn; closed / planted never published
        P.withdraw(session=s, settings=settings, actor=published.steward, resource=CODES["people"], reason="测试")
    hidden = [_name(k) for k in ("people", "closed", "planted")]
    for url in ("/catalog.ttl", "/catalog.jsonld", "/sitemap.xml"):
        body = client.get(url).content.decode("utf-8")
        assert _name("open") in body
        for name in hidden:
            assert name not in body, (url, name)
        assert "志愿者名录" not in body and "内部名录" not in body
    for name in hidden:
        for ext in ("ttl", "jsonld"):
            assert client.get(f"/portal/datasets/{name}.{ext}").status_code == 404
    assert client.get("/catalog.ttl").headers["X-Total-Count"] == "2"


def test_per_dataset_form(client, published):
    name = _name("people")
    for url, fmt in ((f"/portal/datasets/{name}.ttl", "turtle"), (f"/portal/datasets/{name}.jsonld", "json-ld")):
        g = _get_graph(client, url, fmt)
        conforms, report = validate(g)
        assert conforms, report
        assert set(g.subjects(RDF.type, DCAT.Dataset)) == {_dataset(name)}
        assert str(g.value(_dataset(name), DCTERMS.title)) == "志愿者名录"
        assert (None, RDF.type, DCAT.Catalog) not in g


def test_paging(client, published, monkeypatch):
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    seen: set[URIRef] = set()
    for page in (1, 2):
        r = client.get(f"/catalog.ttl?page={page}")
        assert r.status_code == 200
        g = Graph().parse(data=r.text, format="turtle")
        conforms, report = validate(g)
        assert conforms, report
        found = set(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset))
        assert len(found) == (2 if page == 1 else 1) and not found & seen
        seen |= found
        coll = URIRef(f"{BASE}/catalog.ttl?page={page}")
        assert (coll, RDF.type, HYDRA.PagedCollection) in g
        assert int(g.value(coll, HYDRA.totalItems)) == 3 and int(g.value(coll, HYDRA.itemsPerPage)) == 2
        assert str(g.value(coll, HYDRA.lastPage)) == f"{BASE}/catalog.ttl?page=2"
        links = r.headers["Link"]
        assert f'<{BASE}/catalog.ttl?page=1>; rel="first"' in links
        if page == 1:
            assert str(g.value(coll, HYDRA.nextPage)) == f"{BASE}/catalog.ttl?page=2" and 'rel="prev"' not in links
        else:
            assert str(g.value(coll, HYDRA.previousPage)) == f"{BASE}/catalog.ttl?page=1"
            assert 'rel="next"' not in links and (coll, HYDRA.nextPage, None) not in g
    assert len(seen) == 3
    r = client.get("/catalog.jsonld?page=2")
    assert r.status_code == 200 and f'<{BASE}/catalog.jsonld?page=1>; rel="prev"' in r.headers["Link"]
    assert client.get("/catalog.ttl?page=3").status_code == 404
    assert client.get("/catalog.ttl?page=0").status_code in (400, 422)


def test_empty_catalog_is_valid(client, portal_world):
    g = _get_graph(client, "/catalog.ttl", "turtle")
    conforms, report = validate(g)
    assert conforms, report
    assert list(g.objects(URIRef(f"{BASE}/catalog"), DCAT.dataset)) == []
    assert client.get("/catalog.ttl?page=2").status_code == 404


def test_sitemap(client, published):
    r = client.get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    ns = {"s": dcat.SITEMAP_NS}
    locs = [e.text for e in ET.fromstring(r.content).findall("s:url/s:loc", ns)]
    assert locs[:2] == [f"{BASE}/portal", f"{BASE}/portal/datasets"]
    assert sorted(locs[2:]) == sorted(f"{BASE}/portal/datasets/{_name(k)}" for k in ("open", "people", "cond"))
    assert len(ET.fromstring(r.content).findall("s:url/s:lastmod", ns)) == 3


def test_sitemap_index_above_the_limit(client, published, monkeypatch):
    monkeypatch.setattr(dcat, "SITEMAP_MAX", 4)  # 2 fixed URLs + 2 datasets a file
    root = ET.fromstring(client.get("/sitemap.xml").content)
    ns = {"s": dcat.SITEMAP_NS}
    assert root.tag == f"{{{dcat.SITEMAP_NS}}}sitemapindex"
    assert [e.text for e in root.findall("s:sitemap/s:loc", ns)] == [f"{BASE}/sitemap.xml?page=1",
                                                                   f"{BASE}/sitemap.xml?page=2"]
    first = ET.fromstring(client.get("/sitemap.xml?page=1").content).findall("s:url/s:loc", ns)
    second = ET.fromstring(client.get("/sitemap.xml?page=2").content).findall("s:url/s:loc", ns)
    assert len(first) == 4 and len(second) == 1
    assert client.get("/sitemap.xml?page=3").status_code == 404


def test_configured_base_url(client, published, settings):
    if not hasattr(settings, "portal_base_url"):
        pytest.skip("no SHUDATA_PORTAL_BASE_URL setting in this build")
    object.__setattr__(settings, "portal_base_url", "https://data.sc.gov.cn/")
    body = client.get("/catalog.ttl").text
    assert "<https://data.sc.gov.cn/catalog>" in body and "testserver" not in body


def test_update_cycles_map_to_eu_frequencies():
    assert dcat.FREQUENCIES["每季度"] == "QUARTERLY" and dcat.FREQUENCIES["实时"] == "UPDATE_CONT"
    from shudata.catalog.schemas import UpdateCycle

    assert {c.value for c in UpdateCycle} <= set(dcat.FREQUENCIES)


# -- content negotiation and RDF/XML (issue 13) -------------------------------------------------

RDF_FORMS = [("ttl", "text/turtle", "turtle"), ("jsonld", "application/ld+json", "json-ld"),
             ("rdf", "application/rdf+xml", "xml")]


@pytest.mark.parametrize(("ext", "media", "fmt"), RDF_FORMS)
def test_every_serialisation_parses_and_conforms(client, published, ext, media, fmt):
    """The catalog and a dataset, by explicit address and by ``Accept`` on their own URIs, in all
    three serialisations: rdflib parses each and the graph conforms to the DCAT-AP 3.0.1 shapes."""
    from shudata.portal import downloads

    assert downloads.wait(120)  # the prepared files' sizes are in the graph once written
    name = _name("open")
    graphs = []
    for url, headers in ((f"/catalog.{ext}", {}), ("/catalog", {"Accept": media}),
                         (f"/portal/datasets/{name}.{ext}", {}), (f"/portal/datasets/{name}", {"Accept": media})):
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text[:300])
        assert r.headers["content-type"].split(";")[0] == media, url
        if headers:
            assert r.headers["vary"] == "Accept"
        g = Graph().parse(data=r.content.decode("utf-8"), format=fmt)
        assert (_dataset(name), RDF.type, DCAT.Dataset) in g, url
        graphs.append(g)
    assert len(graphs[0]) == len(graphs[1]) and len(graphs[2]) == len(graphs[3])  # the same graph either way
    for g in (graphs[0], graphs[2]):
        conforms, report = validate(g)
        assert conforms, report


def test_negotiation_honours_q_values_and_keeps_the_html_pages(client, published):
    name = _name("open")
    best = client.get("/catalog", headers={"Accept": "text/turtle;q=0.5, application/rdf+xml;q=0.9, text/html;q=0.1"})
    assert best.headers["content-type"].startswith("application/rdf+xml")
    jsonld = client.get("/catalog.jsonld", headers={"Accept": "text/turtle"})  # the address wins over Accept
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = client.get(f"/portal/datasets/{name}", headers={"Accept": browser})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert client.get(f"/portal/datasets/{name}").headers["content-type"].startswith("text/html")  # */*
    staff_ui = client.get("/catalog", headers={"Accept": browser}, follow_redirects=False)
    assert not staff_ui.headers.get("content-type", "").startswith(("text/turtle", "application/ld+json"))
    hidden = client.get(f"/portal/datasets/{_name('closed')}", headers={"Accept": "text/turtle"})
    assert hidden.status_code == 404


def test_unsupported_rdf_types_are_406_in_chinese(client, published):
    for url in ("/catalog", f"/portal/datasets/{_name('open')}"):
        r = client.get(url, headers={"Accept": "application/n-triples, text/n3;q=0.5"})
        assert r.status_code == 406, url
        assert "不支持所请求的格式" in r.text and "text/turtle" in r.text
    j = client.get("/catalog", headers={"Accept": "application/n-quads", "Accept-Language": "zh-CN"})
    assert j.status_code == 406


def test_every_prepared_download_states_its_size_and_checksum(client, published):
    from shudata.portal import downloads

    assert downloads.wait(120)
    name = _name("people")
    g = Graph().parse(data=client.get(f"/portal/datasets/{name}.ttl").text, format="turtle")
    for fmt in ("csv", "json", "xlsx", "parquet"):
        body = client.get(f"/portal/datasets/{name}/download.{fmt}").content
        dist = URIRef(f"{BASE}/portal/datasets/{name}#{name}-{fmt}")
        assert g.value(dist, DCAT.byteSize).toPython() == len(body), fmt
        checksum = g.value(dist, SPDX.checksum)
        assert str(g.value(checksum, SPDX.checksumValue)) == hashlib.sha256(body).hexdigest(), fmt
    conforms, report = validate(g)
    assert conforms, report
