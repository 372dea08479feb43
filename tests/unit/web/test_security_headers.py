"""Security headers on every kind of answer (issue #14 item 10), and templates the CSP can run."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shudata.core.types import Role
from shudata.db.runtime import Runtime
from shudata.web.app import create_app
from shudata.web.security_headers import CSP

# The headers are set by the app's middleware on every answer, whichever store is behind it: SQLite only.
pytestmark = pytest.mark.sqlite_only

REQUIRED = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


def assert_secured(resp, *, csp: str = CSP) -> None:
    for name, value in REQUIRED.items():
        assert resp.headers.get(name) == value, (resp.request.url, name, resp.headers.get(name))
    policy = resp.headers["content-security-policy"]
    assert policy == csp and "frame-ancestors 'none'" in policy
    assert "strict-transport-security" not in resp.headers  # plain HTTP: no HSTS


@pytest.mark.parametrize(("path", "kind"), [
    ("/login", "text/html"),  # a UI page
    ("/portal", "text/html"),  # the public portal
    ("/api/v1/health", "application/json"),  # the JSON API
    ("/api/3/action/status_show", "application/json"),  # CKAN
    ("/static/js/app.js", "javascript"),  # a static file
    ("/openapi.json", "application/json"),
    ("/sitemap.xml", "xml"),
])
def test_ok_answers_carry_the_headers(client, path: str, kind: str):
    r = client.get(path)
    assert r.status_code == 200 and kind in r.headers["content-type"]
    assert_secured(r)


def test_error_answers_carry_the_headers(client):
    assert_secured(client.get("/api/v1/no-such-endpoint"))  # JSON 404
    assert_secured(client.get("/no-such-page", headers={"Accept": "text/html"}))  # HTML 404
    assert_secured(client.get("/api/v1/catalog/resources/x", headers={"Authorization": "Bearer nope"}))  # 401
    assert_secured(client.get("/api/3/action/package_show"))  # CKAN validation error
    r = client.post("/api/v1/auth/token", content=b"{", headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500
    assert_secured(r)


def test_file_download_carries_the_headers(client, make_user, token_for):
    make_user("dl_admin", Role.PLATFORM_ADMIN)
    r = client.post("/api/v1/query?format=csv", json={"sql": "SELECT 1 AS x"}, headers=token_for("dl_admin"))
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    assert_secured(r)


def test_rate_limited_answer_carries_the_headers(settings):
    rt = Runtime.build(settings.model_copy(update={"portal_rate_ip_per_min": 1}))
    with TestClient(create_app(runtime=rt, migrate=False), client=("10.7.7.7", 1)) as c:
        c.get("/sitemap.xml")
        r = c.get("/sitemap.xml")
        assert r.status_code == 429
        assert_secured(r)
    rt.close()


def test_hsts_only_over_https(app):
    with TestClient(app, base_url="https://testserver") as c:
        r = c.get("/api/v1/health")
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    with TestClient(app) as c:
        assert "strict-transport-security" not in c.get("/api/v1/health").headers


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_from_this_origin_only(client, path):
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    assert r.status_code == 200 and "frame-ancestors 'none'" in csp
    assert "http" not in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], csp
    for src in re.findall(r'(?:src|href)="([^"]+)"', r.text):  # scripts, styles, favicon: all from the package
        assert src.startswith("/static/"), src
        assert client.get(src).status_code == 200, src


def test_a_header_set_by_a_route_is_kept(client):
    r = client.get("/static/js/app.js")
    assert r.headers.get_list("content-security-policy") == [CSP]  # exactly one, not doubled


TEMPLATES = Path(str(resources.files("shudata.web.ui").joinpath("templates")))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script(template: Path):
    """``script-src 'self'`` runs no inline script, handler attribute or javascript: URL."""
    text = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(text), INLINE_SCRIPT.search(text)
    assert not INLINE_HANDLER.search(text), INLINE_HANDLER.search(text)
    assert "javascript:" not in text.lower()


def test_an_unhandled_500_carries_the_headers(rt):
    app = create_app(runtime=rt, migrate=False)

    @app.get("/test-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/test-boom")
    assert r.status_code == 500
    assert_secured(r)
