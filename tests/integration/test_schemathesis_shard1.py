"""Shard 1 of the schemathesis run over the whole OpenAPI (tests/integration/test_schemathesis.py): a file
of its own so that xdist (``--dist loadfile``) can give it to another worker."""

from __future__ import annotations

import pytest
from tests.integration.test_schemathesis import probe_operations, role_headers

from shudata.db.runtime import Runtime

pytestmark = pytest.mark.slow  # handed out among the first files (tests/conftest.py)

__all__ = ["role_headers"]  # the fixture, used by the test below


@pytest.mark.sqlite_only
def test_no_operation_answers_5xx_for_any_role(rt: Runtime, role_headers: dict[str, dict[str, str]]):
    probe_operations(rt, role_headers, 1)
