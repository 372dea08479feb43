"""The OpenAPI document (issue #12): valid, every operation described, the bearer scheme, the
platform's error body for the refusals each route can give; HEAD wherever GET is; the favicon."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from shudata.web.app import create_app
from shudata.web.routes import api_routes

pytestmark = pytest.mark.sqlite_only
METHODS = ("get", "put", "post", "delete", "patch", "head")
CKAN = ("/api/action/", "/api/3/action/")


@pytest.fixture
def doc(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in doc["paths"].items() for m, op in item.items() if m in METHODS]


def test_the_document_is_valid_openapi(doc):
    validate(doc)
    assert doc["openapi"].startswith("3.")


def test_every_operation_has_a_description(doc):
    missing = [f"{m} {p}" for m, p, op in operations(doc) if not (op.get("description") or "").strip()]
    assert not missing, f"{len(missing)} operations without a description (write the route's docstring): {missing}"


def test_bearer_scheme_declared_and_applied(doc):
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer") and "/tokens" in scheme["description"]
    ops = {(m, p): op for m, p, op in operations(doc)}
    assert ops["GET", "/api/v1/me"]["security"] == [{"bearer": []}]  # UserDep: a token is required
    assert ops["GET", "/api/v1/resources"]["security"] == [{"bearer": []}, {}]  # ActorDep: anonymous allowed
    assert "security" not in ops["GET", "/api/v1/health"]
    assert "security" not in ops["GET", "/sitemap.xml"]


def _error_ref(op: dict[str, Any], status: int) -> str | None:
    resp = op["responses"].get(str(status))
    return resp and resp["content"]["application/json"]["schema"].get("$ref")


def test_error_body_is_a_component_and_used_for_refusals(doc):
    body = doc["components"]["schemas"]["ErrorBody"]
    assert body["required"] == ["error"] and body["properties"]["error"]["required"] == ["code", "message"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # FastAPI's 422 body is not what we send
    ref = "#/components/schemas/ErrorBody"
    for method, path, op in operations(doc):
        if path.startswith(CKAN):
            continue  # CKAN's own envelope: test_ckan_routes_document_ckan_errors
        sec = op.get("security") or []
        for status in (401, 403):
            assert (_error_ref(op, status) == ref) == bool(sec), (method, path, status)
        if "{" in path:
            assert _error_ref(op, 404) == ref, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert _error_ref(op, 422) == ref, (method, path)
        for status, resp in op["responses"].items():
            if status.startswith(("4", "5")) and "application/json" in resp.get("content", {}):
                assert resp["content"]["application/json"]["schema"] == {"$ref": ref}, (method, path, status)
    ops = {(m, p): op for m, p, op in operations(doc)}
    assert _error_ref(ops["POST", "/api/v1/resources"], 409) == ref  # a write to the store
    assert _error_ref(ops["POST", "/api/v1/resources"], 413) == ref  # a body: the size limit
    assert "409" not in ops["GET", "/api/v1/resources"]["responses"]
    for limited in (("GET", "/sitemap.xml"), ("GET", "/api/v1/shared/rows")):
        assert _error_ref(ops[limited], 429) == ref, limited
        assert "Retry-After" in ops[limited]["responses"]["429"]["headers"]
    assert "429" not in ops["GET", "/api/v1/me"]["responses"]
    gate = ops["POST", "/api/v1/portal/publications"]["responses"]["422"]  # a route's own description stays
    assert "闸门" in gate["description"] and _error_ref(ops["POST", "/api/v1/portal/publications"], 422) == ref


def test_ckan_routes_document_ckan_errors(client, doc):
    ckan = [(m, p, op) for m, p, op in operations(doc) if p.startswith(CKAN)]
    assert len(ckan) == 4
    for _, _, op in ckan:
        assert op["security"] == [{"ckanApiKey": []}, {}]
        assert sorted(op["responses"]) == ["200", "400", "403", "404", "409", "429"]
        assert {r["content"]["application/json"]["schema"]["$ref"] for s, r in op["responses"].items()
                if s != "200"} == {"#/components/schemas/CkanError"}
    body = client.get("/api/3/action/package_show", params={"id": "no-such-dataset"})
    assert body.status_code == 404
    required = doc["components"]["schemas"]["CkanError"]["required"]
    assert set(body.json()) >= set(required) and set(body.json()["error"]) >= {"__type", "message"}


def test_real_refusals_match_the_documented_body(client, doc):
    r = client.get("/portal/datasets/no-such-dataset.ttl", headers={"accept": "text/turtle"})
    assert r.status_code == 404 and r.json()["error"]["code"]  # an RDF address answers JSON, not a page
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and set(r.json()["error"]) >= {"code", "message"}
    r = client.post("/api/v1/resources", json={})
    assert r.status_code in (401, 422) and set(r.json()["error"]) >= {"code", "message"}


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_head_is_answered_wherever_get_is(client):
    app = client.app
    gets = sorted({r.path_format for r in api_routes(app) if "GET" in (r.methods or ())})
    assert len(gets) > 100
    wrong = []
    for path in gets:
        url = _filled(path)
        g = client.get(url, follow_redirects=False)
        h = client.head(url, follow_redirects=False)
        if h.status_code == 405 or h.status_code != g.status_code or h.content:
            wrong.append((path, g.status_code, h.status_code))
    assert not wrong, wrong
    for accept in ("text/turtle", "application/ld+json", "text/html"):  # routes chosen by Accept stay so
        g = client.get("/catalog", headers={"accept": accept}, follow_redirects=False)
        h = client.head("/catalog", headers={"accept": accept}, follow_redirects=False)
        assert (h.status_code, h.headers.get("content-type")) == (g.status_code, g.headers.get("content-type"))


def test_a_route_declaring_head_keeps_its_own(rt):
    app = create_app(runtime=rt, migrate=False)

    from fastapi import Response

    @app.head("/test-own-head")
    def own_head() -> Response:
        return Response(headers={"X-Own": "1"})

    @app.get("/test-own-head")
    def own_get() -> dict[str, str]:
        return {"ok": "1"}

    from shudata.web.routes import add_head_routes

    add_head_routes(app)
    with TestClient(app) as c:
        assert c.head("/test-own-head").headers.get("x-own") == "1"


def test_favicon(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    svg = client.get("/static/img/favicon.svg")
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<svg")
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml"' in client.get("/login").text
