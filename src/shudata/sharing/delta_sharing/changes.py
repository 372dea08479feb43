"""The change data feed of a shared table: what changed between consecutive lake versions, as
the consumer receives it.

A lake version is a whole snapshot; what changed from version ``v - 1`` to ``v`` is found by the
table's *declared key* — the columns of the first ``unique`` quality rule of the entry's rule
set in force (``shudata quality rules``; the base registries' demo rules declare
``统一社会信用代码`` and ``公民身份号码``). Both sides are the grant's masked files (fields, row
filter and masking of the grant applied), so the feed holds only what the consumer may see
and nothing it observes depends on a raw value (architecture convention 16):

- a key present only in ``v``: ``insert``; only in ``v - 1``: ``delete``;
- a key present once on each side whose delivered row differs: ``update_preimage`` and
  ``update_postimage``; an unchanged row, or a change the masking hides, is not reported;
- a key that is not unique on a side (a masked key that collides, duplicates the quality
  rule let through): its differing rows as ``delete`` and ``insert``, never a wrong pairing.

The file of one version's changes (``c<v>-<hash>.parquet``, beside the grant's masked files,
with a ``_change_type`` column) is written once, like the masked files: prepared in the
background when a version lands (:mod:`shudata.sharing.prepare`), otherwise on the first call.
Its name hashes the grant, both versions' masking SQL and the key, so changed terms give a new
file and a revoked grant's files are no longer served (the file route re-checks the grant).

>>> print(changes_sql(("id",), ["id", "名"]).splitlines()[1])
dk AS (SELECT DISTINCT "id" FROM d),
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import BadRequest
from shudata.lake.reader import layout
from shudata.quality.rules import Unique
from shudata.quality.service import current_rule_set
from shudata.query.engines.base import Limits, TableSource
from shudata.query.service import local_engine
from shudata.security.crypto.sm3 import sm3_hex
from shudata.sharing.delivery import GrantView, masked_file
from shudata.sharing.delta_sharing.protocol import CDF_COLUMNS
from shudata.sharing.locks import KeyedLocks
from shudata.sharing.narrow import quoted

_BUILDING = KeyedLocks()


def declared_key(session: Session, resource: CatalogResource) -> tuple[str, ...] | None:
    """The key of an entry: the columns of the first ``unique`` rule in force, else ``None``."""
    rules, _ = current_rule_set(session, resource.id)
    return next((tuple(r.columns) for r in rules.rules if isinstance(r, Unique)), None)


def require_key(session: Session, resource: CatalogResource) -> tuple[str, ...]:
    key = declared_key(session, resource)
    if key is None:
        raise BadRequest(
            f"表“{resource.name}”没有声明主键，无法提供变更数据（change data feed）：请提供方数据管理员在该资源的"
            "质量规则中加入 unique 规则（如 {\"type\": \"unique\", \"columns\": [\"统一社会信用代码\"]}）声明主键；"
            "在此之前请按版本读取整表（version）",
            f"Table {resource.code} declares no key, so it has no change data feed: the provider's steward declares "
            "one with a unique quality rule on the entry; until then read whole versions (version)",
            code="cdf_no_key", details={"resource_id": resource.code})
    return key


def changes_sql(key: Sequence[str], columns: Sequence[str]) -> str:
    """The changed rows of ``cur`` against ``prev`` (same columns) with ``_change_type``, ordered
    by key, then delete, update pre- and post-image, insert.

    One hash aggregation over both versions finds the rows whose count differs (``n`` > 0:
    added ``n`` times, < 0: gone); only the keys of those few rows are then counted on each
    side, to pair a gone and an added row of a key that is unique on both sides as an update.
    """
    cols = ", ".join(quoted(c) for c in columns)
    k = ", ".join(quoted(c) for c in key)
    xk = ", ".join(f"x.{quoted(c)}" for c in key)

    def on(a: str, b: str) -> str:
        return " AND ".join(f"{a}.{quoted(c)} IS NOT DISTINCT FROM {b}.{quoted(c)}" for c in key)

    def unique_in(side: str) -> str:
        return f"SELECT {xk} FROM {side} x SEMI JOIN dk u ON {on('x', 'u')} GROUP BY {xk} HAVING count(*) = 1"

    kind = ("CASE \"_change_type\" WHEN 'delete' THEN 0 WHEN 'update_preimage' THEN 1 "
            "WHEN 'update_postimage' THEN 2 ELSE 3 END")
    order = ", ".join([quoted(c) for c in key] + [kind] + [quoted(c) for c in columns if c not in key])
    xcols = ", ".join(f"x.{quoted(c)}" for c in columns)
    return (
        f"WITH d AS (SELECT {cols}, CAST(sum(s) AS BIGINT) AS n FROM (SELECT {cols}, 1 AS s FROM cur "
        f"UNION ALL SELECT {cols}, -1 AS s FROM prev) GROUP BY ALL HAVING sum(s) <> 0),\n"
        f"dk AS (SELECT DISTINCT {k} FROM d),\n"
        f"upd AS ({unique_in('prev')} INTERSECT {unique_in('cur')} "
        f"INTERSECT SELECT {k} FROM d WHERE n < 0 INTERSECT SELECT {k} FROM d WHERE n > 0),\n"
        f"marked AS (SELECT {k}, true AS hit FROM upd)\n"
        f"SELECT * FROM (SELECT {xcols}, CASE WHEN x.n < 0 THEN (CASE WHEN u.hit THEN 'update_preimage' "
        f"ELSE 'delete' END) ELSE (CASE WHEN u.hit THEN 'update_postimage' ELSE 'insert' END) END "
        f"AS \"_change_type\" FROM d x CROSS JOIN range(abs(x.n)) LEFT JOIN marked u ON {on('x', 'u')}) "
        f"ORDER BY {order}")


def change_file_path(settings: Settings, prev: GrantView, cur: GrantView, key: Sequence[str]) -> Path:
    state = sm3_hex(json.dumps([cur.grant.id, prev.version.version, cur.version.version, prev.sql, cur.sql,
                                list(key)], ensure_ascii=False).encode())
    return settings.data_dir / "delivery" / f"g{cur.grant.id}" / f"c{cur.version.version}-{state[:16]}.parquet"


def change_file(settings: Settings, prev: GrantView, cur: GrantView, key: Sequence[str]) -> Path:
    """The file of what changed from ``prev`` to ``cur`` (two versions under the same grant),
    built once from the two masked files. 400 when the key is not delivered or the delivered
    columns differ between the versions."""
    path = change_file_path(settings, prev, cur, key)
    if path.exists():
        return path
    prev_path, cur_path = masked_file(settings, prev), masked_file(settings, cur)
    columns = _comparable(layout([prev_path]).schema, layout([cur_path]).schema, prev, cur, key)
    with _BUILDING.hold(path):
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
            try:
                local_engine(settings).copy_to_parquet(
                    changes_sql(key, columns), {"prev": TableSource(name="prev", files=[prev_path]),
                                                "cur": TableSource(name="cur", files=[cur_path])},
                    tmp, Limits(timeout_s=max(settings.query_timeout_s, 600)))
                tmp.replace(path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
    return path


def _comparable(old: pa.Schema, new: pa.Schema, prev: GrantView, cur: GrantView, key: Sequence[str]) -> list[str]:
    a, b = prev.version.version, cur.version.version
    missing = [c for c in key if c not in new.names]
    if missing:
        raise BadRequest(
            f"表的主键信息项“{'、'.join(missing)}”不在您的授权信息项中，无法按主键给出变更数据；"
            "请申请包含该信息项的授权，或按版本读取整表",
            f"The table's key ({', '.join(missing)}) is not among your granted fields, so no change data feed can "
            "be given; request a grant with it, or read whole versions", code="cdf_key_not_granted",
            details={"key": list(key)})
    reserved = [c for c in new.names if c in CDF_COLUMNS]
    if reserved:
        raise BadRequest(f"信息项“{'、'.join(reserved)}”与变更数据的元数据列同名，无法提供变更数据",
                         f"Columns {', '.join(reserved)} clash with the change data feed's metadata columns",
                         code="cdf_reserved_column")
    if old.names != new.names or old.types != new.types:
        raise BadRequest(
            f"版本 {a} 与版本 {b} 交付的列（名称或类型）不同，无法给出版本 {b} 的变更数据；"
            f"请从版本 {b + 1} 起读取变更（startingVersion={b + 1}），或按版本 {b} 读取整表",
            f"Versions {a} and {b} deliver different columns (names or types), so version {b} has no change "
            f"data; read changes from version {b + 1} on, or read version {b} whole",
            code="cdf_schema_changed", details={"from_version": a, "to_version": b})
    return list(new.names)
