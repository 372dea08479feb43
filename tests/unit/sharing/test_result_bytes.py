"""Issue #14 item 6 on sharing REST pages: a page past ``result_max_bytes`` is cut to the rows
that fit and says so, with the offset where the rest starts."""

from __future__ import annotations

from tests.unit.sharing.test_delivery import shared  # noqa: F401 - the fixture


def test_a_shared_page_is_cut_to_the_byte_limit_and_points_at_the_rest(client, shared, rt):  # noqa: F811
    rt.settings = rt.settings.model_copy(update={"result_max_bytes": 60})  # below the minimum: rows are small
    first = client.get("/api/v1/shared/rows", params={"resource": "201001/000002"}, headers=shared["user"]).json()
    assert first["total"] == 2 and len(first["rows"]) == 1
    assert first["capped"] == {"reason": "bytes", "max_bytes": 60, "rows": 1, "next_offset": 1}
    rest = client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "offset": 1},
                      headers=shared["user"]).json()
    assert len(rest["rows"]) == 1 and "capped" not in rest
    assert sorted(r[1] for r in first["rows"] + rest["rows"]) == ["张*", "李*"]
