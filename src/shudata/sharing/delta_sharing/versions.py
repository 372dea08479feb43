"""Time travel across lake versions, in the protocol's terms.

A table's versions are the entry's lake versions (1, 2, …; the protocol's version 0 does not
exist here) and a version's commit time is when it was published. ``version``/``timestamp``
pick one snapshot (the latest version published at or before the time); ``startingVersion``/
``startingTimestamp`` … ``endingVersion``/``endingTimestamp`` pick the versions of a change
feed (the start: the earliest version published at or after the time; the end: the latest at
or before it, an ``endingVersion`` past the latest read as the latest). Anything else is a 4xx
that names the versions there are.

>>> import datetime as dt
>>> vs = [_V(1, dt.datetime(2024, 1, 1, tzinfo=dt.UTC)), _V(2, dt.datetime(2024, 2, 1, tzinfo=dt.UTC))]
>>> at_or_before(vs, dt.datetime(2024, 1, 15, tzinfo=dt.UTC)).version
1
>>> at_or_after(vs, dt.datetime(2024, 1, 15, tzinfo=dt.UTC)).version
2
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from shudata.core.errors import BadRequest, NotFound
from shudata.lake.models import LakeVersion
from shudata.lake.service import list_versions
from shudata.sharing.delta_sharing.protocol import parse_timestamp


class _Versioned(Protocol):
    version: int
    created_at: dt.datetime


V = TypeVar("V", bound=_Versioned)


@dataclass
class _V:
    version: int
    created_at: dt.datetime


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def ascending(session: Session, resource_id: int) -> list[LakeVersion]:
    return list(reversed(list_versions(session, resource_id)))


def _span(vs: Sequence[_Versioned]) -> str:
    return f"{vs[0].version}–{vs[-1].version}" if vs else "无"


def at_or_before(vs: Sequence[V], when: dt.datetime) -> V | None:
    return next((v for v in reversed(vs) if _utc(v.created_at) <= when), None)


def at_or_after(vs: Sequence[V], when: dt.datetime) -> V | None:
    return next((v for v in vs if _utc(v.created_at) >= when), None)


def by_number(vs: Sequence[LakeVersion], number: int, field: str = "version") -> LakeVersion:
    found = next((v for v in vs if v.version == number), None)
    if found is None:
        raise NotFound(f"{field}={number} 超出范围：该表的版本为 {_span(vs)}（版本从 1 开始）",
                       f"{field}={number} is out of range: the table's versions are {_span(vs)} (starting at 1)",
                       code="version_not_found", details={"field": field, "first": vs[0].version if vs else None,
                                                          "latest": vs[-1].version if vs else None})
    return found


def snapshot_version(session: Session, resource_id: int, *, version: object = None,
                     timestamp: object = None) -> int | None:
    """The version a table query reads (``None``: the latest)."""
    if version is not None and timestamp is not None:
        raise BadRequest("version 与 timestamp 只能给出一个", "Give either version or timestamp, not both",
                         code="time_travel_conflict")
    if version is None and timestamp is None:
        return None
    vs = ascending(session, resource_id)
    if version is not None:
        return by_number(vs, _int(version, "version")).version
    when = parse_timestamp(str(timestamp), "timestamp")
    found = at_or_before(vs, when)
    if found is None:
        raise BadRequest(f"timestamp {when.isoformat()} 早于该表第一个版本的发布时间"
                         f"（{_first_time(vs)}）", f"timestamp {when.isoformat()} is before the table's first version",
                         code="timestamp_out_of_range", details={"first": _first_time(vs)})
    if found is vs[-1] and when > dt.datetime.now(dt.UTC):
        raise BadRequest(f"timestamp {when.isoformat()} 晚于当前时间；读取最新版本时请不要给出 timestamp",
                         f"timestamp {when.isoformat()} is in the future; omit it to read the latest version",
                         code="timestamp_out_of_range")
    return found.version


def first_version_at_or_after(session: Session, resource_id: int, timestamp: str) -> int:
    """``GET …/version?startingTimestamp=``: the earliest version published at or after the time."""
    vs = ascending(session, resource_id)
    found = at_or_after(vs, parse_timestamp(timestamp, "startingTimestamp"))
    if found is None:
        raise BadRequest(f"startingTimestamp {timestamp} 晚于最新版本 {_span(vs)} 的发布时间",
                         f"startingTimestamp {timestamp} is after the latest version was published",
                         code="timestamp_out_of_range")
    return found.version


def change_range(session: Session, resource_id: int, *, starting_version: int | None,
                 starting_timestamp: str | None, ending_version: int | None,
                 ending_timestamp: str | None) -> list[LakeVersion]:
    """The versions whose changes a change-feed request asks for (inclusive, ascending)."""
    if (starting_version is None) == (starting_timestamp is None):
        raise BadRequest("请给出 startingVersion 或 startingTimestamp 之一（变更数据的起点）",
                         "Give exactly one of startingVersion or startingTimestamp", code="cdf_start_required")
    if ending_version is not None and ending_timestamp is not None:
        raise BadRequest("endingVersion 与 endingTimestamp 只能给出一个",
                         "Give either endingVersion or endingTimestamp, not both", code="time_travel_conflict")
    vs = ascending(session, resource_id)
    start = by_number(vs, starting_version, "startingVersion") if starting_version is not None \
        else at_or_after(vs, parse_timestamp(str(starting_timestamp), "startingTimestamp"))
    if start is None:
        raise BadRequest(f"startingTimestamp {starting_timestamp} 晚于最新版本的发布时间，暂无变更",
                         f"startingTimestamp {starting_timestamp} is after the latest version was published",
                         code="timestamp_out_of_range")
    end: LakeVersion | None = vs[-1]
    if ending_version is not None:  # past the latest: up to the latest
        end = by_number(vs, ending_version, "endingVersion") if ending_version < vs[-1].version else vs[-1]
    elif ending_timestamp is not None:
        end = at_or_before(vs, parse_timestamp(ending_timestamp, "endingTimestamp"))
    if end is None or end.version < start.version:
        raise BadRequest(f"变更数据的终点早于起点（起点版本 {start.version}）；该表的版本为 {_span(vs)}",
                         f"The end of the change range is before its start (version {start.version})",
                         code="cdf_range_invalid", details={"start": start.version})
    return [v for v in vs if start.version <= v.version <= end.version]


def previous(session: Session, resource_id: int, version: LakeVersion) -> LakeVersion | None:
    vs = ascending(session, resource_id)
    return next((v for v in reversed(vs) if v.version < version.version), None)


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{field} 须为整数版本号", f"{field} must be an integer version", code="bad_version")
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{field} 须为整数版本号：{value!r}", f"{field} must be an integer version",
                         code="bad_version") from None


def _first_time(vs: Sequence[_Versioned]) -> str | None:
    return _utc(vs[0].created_at).isoformat() if vs else None
