"""CKAN's ``datastore_search_sql`` for anonymous callers: no system catalogue (issue #14 item 5).

The attacks of ``tests/golden/sandbox/catalogue.yaml`` with ``{t}`` standing for a published
resource: each one is refused with a 4xx CKAN error, and no answer shows settings, view
definitions, internal view names or where the lake lives.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shudata.portal import service as P
from support.portal import CODES

ATTACKS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[2] / "golden" / "sandbox" / "catalogue.yaml").read_text(encoding="utf-8"))
OPEN = CODES["open"].replace("/", "-")
SECRETS = ("allowed_paths", "enable_external_access", "read_parquet", "CREATE VIEW", "lock_configuration")


def test_anonymous_datastore_search_sql_never_reads_the_catalogue(client, rt, settings, portal_world):
    with rt.transaction() as s:
        P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES["open"])
    table = f'"{OPEN}-csv"'
    ok = client.get("/api/3/action/datastore_search_sql", params={"sql": f"SELECT count(*) AS n FROM {table}"})
    assert ok.status_code == 200 and ok.json()["result"]["records"][0]["n"] > 0  # the table itself works
    failures = []
    for case in ATTACKS:
        sql = case["sql"].replace("{t}", table)
        r = client.get("/api/3/action/datastore_search_sql", params={"sql": sql})
        body = r.json()
        if not (400 <= r.status_code < 500) or body.get("success") is not False:
            failures.append(f"{case['label']}: {r.status_code} {r.text[:200]}")
            continue
        shown = [x for x in (*SECRETS, str(settings.data_dir)) if x in r.text and x not in sql]
        shown += re.findall(r"\bt_[0-9a-f]{16}\b", r.text)
        if shown:
            failures.append(f"{case['label']}: shows {shown}")
    assert not failures, "\n".join(failures)
