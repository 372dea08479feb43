"""Input that used to answer 500 (issue #14 item 11) now gets a 4xx, one regression per finding."""

from __future__ import annotations

import pytest

from shudata.core.types import Role

HUGE = 2**64  # above 2^63: SQLite cannot bind it, PostgreSQL's bigint cannot hold it


@pytest.fixture
def admin(make_user, token_for):
    make_user("bi_admin", Role.PLATFORM_ADMIN)
    return token_for("bi_admin")


@pytest.mark.parametrize("path", [
    f"/api/v1/demands/{HUGE}",
    f"/api/v1/quality/runs/{HUGE}",
    f"/api/v1/quality/runs/{HUGE}/report.xlsx",
    f"/api/v1/privacy/scans/{HUGE}",
    f"/api/v1/dashboard/department/{HUGE}",
    f"/catalog.ttl?page={HUGE}",
    f"/catalog.jsonld?page={HUGE}",
])
def test_integer_above_2_63_in_path_or_query_is_4xx(client, admin, path: str):
    r = client.get(path, headers=admin)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    assert r.json()["error"]["code"] in ("number_out_of_range", "invalid_value", "invalid_input", "not_found",
                                         "http_404")


def test_delete_token_with_huge_id_is_4xx(client, admin):
    assert client.delete(f"/api/v1/tokens/{HUGE}", headers=admin).status_code in (404, 422)


@pytest.mark.parametrize(("action", "param"), [
    ("package_list", "offset"), ("organization_list", "offset"), ("group_list", "offset"),
    ("package_search", "start"), ("package_search", "rows"), ("datastore_search", "offset"),
])
def test_ckan_offsets_above_2_63_are_validation_errors(client, action: str, param: str):
    r = client.get(f"/api/3/action/{action}", params={param: str(HUGE), "resource_id": "x"})
    assert 400 <= r.status_code < 500, r.text[:300]
    assert r.json()["success"] is False


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the JSON parser
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b'{"offset": ' + b"9" * 100_001 + b"}",  # more digits than int() converts
])
def test_hostile_json_bodies_are_4xx(client, admin, body: bytes):
    json_ct = {"Content-Type": "application/json"}
    ckan = client.post("/api/3/action/package_list", content=body, headers=json_ct)
    assert ckan.status_code == 409 and ckan.json()["success"] is False
    api = client.post("/api/v1/query", content=body, headers={**admin, **json_ct})
    assert api.status_code in (400, 422), api.text[:200]


# -- departments ------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"region_code": None}, "region_code"),  # null for a non-nullable column
    ({"name": None}, "name"),
    ({"parent_id": False}, "parent_id"),  # a bool is not an id
    ({"parent_id": True}, "parent_id"),
    ({"parent_id": "1"}, "parent_id"),
    ({"parent_id": HUGE}, "parent_id"),
    ({"parent_id": 0}, "parent_id"),
    ({"region_code": "999999"}, "region_code"),  # no such region
])
def test_department_patch_refuses_bad_fields(client, admin, make_department, body, field):
    dept = make_department()
    r = client.patch(f"/api/v1/departments/{dept}", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["problems"][0]["field"] == field


def test_department_cannot_be_its_own_ancestor(client, admin, make_department):
    top, mid, low = make_department(), make_department(), make_department()
    assert client.patch(f"/api/v1/departments/{mid}", json={"parent_id": top}, headers=admin).status_code == 200
    assert client.patch(f"/api/v1/departments/{low}", json={"parent_id": mid}, headers=admin).status_code == 200
    for dept, parent in ((top, top), (top, mid), (top, low), (mid, low)):
        r = client.patch(f"/api/v1/departments/{dept}", json={"parent_id": parent}, headers=admin)
        assert r.status_code == 409 and r.json()["error"]["code"] == "department_cycle", (dept, parent)
    r = client.patch(f"/api/v1/departments/{low}", json={"parent_id": 999_999}, headers=admin)
    assert r.status_code == 404
    ok = client.patch(f"/api/v1/departments/{low}", json={"parent_id": None, "region_code": "510100"}, headers=admin)
    assert ok.status_code == 200 and ok.json()["parent_id"] is None and ok.json()["region_code"] == "510100"


def test_department_rename_to_an_existing_name_is_409(client, admin, make_department):
    make_department("省统计局")
    other = make_department("省民政厅")
    r = client.patch(f"/api/v1/departments/{other}", json={"name": "省统计局"}, headers=admin)
    assert r.status_code == 409


def test_a_broken_xlsx_upload_is_422(client, make_department, make_user, token_for):
    """Found by schemathesis: ``PK\\x03\\x04`` and nothing else used to end in BadZipFile (500)."""
    make_user("bi_steward", Role.DATA_STEWARD, department_id=make_department())
    r = client.post("/api/v1/lake/preview", files={"file": ("x.xlsx", b"PK\x03\x04")}, data={"sheet": ""},
                    headers=token_for("bi_steward"))
    assert 400 <= r.status_code < 500, r.text[:300]


@pytest.mark.parametrize(("path", "form"), [
    ("/admin/departments", {"name": "省测试厅", "uscc": "11510000MB1234567X", "region_code": "510000",
                            "parent_id": "abc"}),  # int("abc") used to be a 500
    ("/admin/departments", {"name": "省测试厅", "uscc": "11510000MB1234567X", "region_code": "510000",
                            "parent_id": "²"}),
    ("/admin/users", {"username": "lisi", "password": "Tianfu-Data-7", "department_id": "x1"}),
    ("/admin/users", {"username": "lisi", "password": "Tianfu-Data-7", "roles": "no_such_role"}),
])
def test_admin_forms_refuse_bad_ids_with_422(client, make_user, login, path, form):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    csrf = login("opsadmin")
    r = client.post(path, data={"csrf_token": csrf, **form})
    assert r.status_code == 422, r.text[:300]
