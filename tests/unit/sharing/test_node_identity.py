"""This node's identity is made at start-up, never by a GET, and once under a race (issue #14 item 11)."""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select

from shudata.sharing.nodes import service
from shudata.sharing.nodes.models import NodeIdentity
from shudata.web.app import create_app


def _count(rt) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(NodeIdentity)) or 0


def test_the_app_creates_the_identity_and_get_only_reads_it(rt, client):
    assert _count(rt) == 1  # made by create_app
    first = client.get("/api/v1/federation/identity").json()
    assert client.get("/api/v1/federation/identity").json() == first and len(first["public_key"]) == 128
    create_app(runtime=rt, migrate=False)  # a second start keeps the key
    assert _count(rt) == 1 and client.get("/api/v1/federation/identity").json() == first


def test_get_without_identity_is_404_and_creates_nothing(rt, client):
    with rt.transaction() as s:
        s.execute(delete(NodeIdentity))
    r = client.get("/api/v1/federation/identity")
    assert r.status_code == 404 and r.json()["error"]["code"] == "node_identity_missing"
    assert _count(rt) == 0


def test_six_concurrent_creators_make_one_identity(rt):
    with rt.transaction() as s:
        s.execute(delete(NodeIdentity))
    keys: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def create() -> None:
        try:
            start.wait()
            keys.append(service.ensure_identity(rt.transaction, rt.settings))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert _count(rt) == 1 and len(set(keys)) == 1 and len(keys) == 6
