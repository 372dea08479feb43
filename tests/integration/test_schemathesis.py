"""The attack stays in the suite: schemathesis over the whole OpenAPI, once per role.

Every operation of ``/openapi.json`` gets generated requests (path and query parameters,
bodies, headers as the schema describes them, plus hypothesis' edge cases: huge integers,
odd Unicode, nulls) sent in-process to the ASGI app with a bearer token of each role —
platform admin, data steward, department user, auditor — and anonymously. The only check
is schemathesis' ``not_a_server_error``: whatever the input, the answer is never a 5xx.
Generation is derandomized and bounded (``SHUDATA_SCHEMATHESIS_EXAMPLES`` examples per
operation, default 8; about a minute) so the run stays within two minutes on two cores.
The operations are dealt into :data:`SHARDS` shards, one test file each (this one and
test_schemathesis_shard1.py, test_schemathesis_shard2.py): xdist's ``--dist loadfile`` keeps a file on one
worker, and the whole API in one file was ~2.5 minutes on one core while the other waited or ran
short files. Each shard probes its operations in a store of its own, with every role.

Issue #14 item 11 lists what an earlier run found (integers above 2^63, nulls in PATCH
bodies, deep JSON, …); the failures are collected for all operations before the test
fails, each with the request that caused it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.web.app import create_app

pytestmark = pytest.mark.slow  # minutes: scheduled among the first files (tests/conftest.py)

EXAMPLES = int(os.environ.get("SHUDATA_SCHEMATHESIS_EXAMPLES", "8"))

# Operations whose generated requests would end the test's own world rather than probe it.
SKIP: set[tuple[str, str]] = set()

ROLES = (("admin", Role.PLATFORM_ADMIN), ("steward", Role.DATA_STEWARD), ("user", Role.DEPT_USER),
         ("auditor", Role.AUDITOR))


@pytest.fixture
def role_headers(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
                 token_for: Callable[[str], dict[str, str]]) -> dict[str, dict[str, str]]:
    """A bearer token per role (staff of one department), and no header for anonymous."""
    dept = make_department("省大数据中心")
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, role in ROLES:
        make_user(f"st_{name}", role, department_id=None if role is Role.PLATFORM_ADMIN else dept)
        headers[name] = token_for(f"st_{name}")
    return headers


def _describe(case: Any) -> str:
    body = case.body if not isinstance(case.body, bytes | str) else case.body[:200]
    return f"path={case.path_parameters} query={case.query} body={str(body)[:300]}"


def _prober(strategy: Any, label: str, role_headers: dict[str, dict[str, str]],
            failures: dict[str, str]) -> Callable[[], None]:
    """A hypothesis test sending each generated request once per role; 5xx go to ``failures``."""

    @given(case=strategy)
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def probe(case: Any) -> None:
        for role, headers in role_headers.items():
            try:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])
            except Exception as exc:  # collect every failure, report them together
                failures.setdefault(label, f"{role}: {type(exc).__name__}: {str(exc)[:400]} | {_describe(case)}")

    return probe


SHARDS = 3


def shard_of(operations: list[Any], shard: int) -> list[Any]:
    """The operations of one shard: every SHARDS-th of the schema's list, from ``shard`` on (the shards
    together are the whole list, each operation in one of them)."""
    return operations[shard::SHARDS]


def probe_operations(rt: Runtime, role_headers: dict[str, dict[str, str]], shard: int) -> None:
    """Generated requests to the operations of ``shard``, with each role; fails listing every 5xx."""
    app = create_app(runtime=rt, migrate=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 100  # the whole API, not a corner of it
    failures: dict[str, str] = {}

    for op in shard_of(operations, shard):
        label = f"{op.method.upper()} {op.path}"
        if (op.method.upper(), op.path) in SKIP:
            continue

        probe = _prober(op.as_strategy(), label, role_headers, failures)
        probe()
    assert not failures, "5xx answers:\n" + "\n".join(f"{k}\n    {v}" for k, v in sorted(failures.items()))


def test_every_shard_has_its_file() -> None:
    """Shard 0 runs below; each other shard in test_schemathesis_shard{n}.py (a shard without its file
    would leave its operations unprobed)."""
    here = Path(__file__).parent
    for shard in range(1, SHARDS):
        text = (here / f"test_schemathesis_shard{shard}.py").read_text(encoding="utf-8")
        assert f"probe_operations(rt, role_headers, {shard})" in text, shard


@pytest.mark.sqlite_only
def test_no_operation_answers_5xx_for_any_role(rt: Runtime, role_headers: dict[str, dict[str, str]]):
    probe_operations(rt, role_headers, 0)  # shards 1 and 2: test_schemathesis_shard1.py, test_schemathesis_shard2.py


HUGE = 2**64  # above every 64-bit column and SQLite's INTEGER
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
HUGE_INT_JSON = b'{"id": ' + b"9" * 100_001 + b"}"


def _edge_requests(op: Any) -> list[tuple[str, dict[str, Any]]]:
    """Hand-made hostile requests for one operation: integers above 2^63 in every integer
    parameter, and JSON bodies nested 100,000 deep or with a 100,001-digit number."""
    path_values: dict[str, Any] = {}
    query: dict[str, Any] = {}
    huge = False
    for param in op.path_parameters:
        kind = (param.definition.get("schema") or {}).get("type")
        path_values[param.name] = HUGE if kind == "integer" else "x"
        huge = huge or kind == "integer"
    for param in op.query:
        if (param.definition.get("schema") or {}).get("type") == "integer":
            query[param.name] = HUGE
    path = op.path.format(**path_values) if path_values else op.path
    out: list[tuple[str, dict[str, Any]]] = []
    if huge or query:
        out.append((path, {"params": query}))
    if op.method.upper() in ("POST", "PUT", "PATCH") and op.body:
        json_ct = {"Content-Type": "application/json"}
        out += [(path, {"content": body, "headers": json_ct}) for body in (DEEP_JSON, HUGE_INT_JSON)]
    return out


def test_huge_integers_and_hostile_json_never_give_5xx(rt: Runtime, role_headers: dict[str, dict[str, str]]):
    from fastapi.testclient import TestClient

    app = create_app(runtime=rt, migrate=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for op in (r.ok() for r in schema.get_all_operations()):
            for path, kwargs in _edge_requests(op):
                for role in ("admin", "anonymous"):
                    headers = {**role_headers[role], **kwargs.get("headers", {})}
                    r = client.request(op.method.upper(), path, headers=headers,
                                       **{k: v for k, v in kwargs.items() if k != "headers"})
                    if r.status_code >= 500:
                        failures.append(f"{role} {op.method.upper()} {path} {str(kwargs)[:80]}: {r.status_code}")
    assert not failures, "\n".join(failures)
