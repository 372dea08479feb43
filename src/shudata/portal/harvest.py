"""Harvesting another CKAN-compatible portal: gather → fetch → import, incrementally.

- **gather**: page through the source's ``package_search`` (``sort=metadata_modified desc``)
  and compare each package's ``metadata_modified`` with the one last imported
  (:class:`HarvestObject.remote_modified`): only new and changed packages go on; packages
  gone from the source are withdrawn here.
- **fetch**: ``package_show`` and the rows of its datastore resource, paged with
  ``datastore_search`` (``limit``/``offset``) through ``ckanapi.RemoteCKAN``.
- **import**: create or update the local catalog entry (owned by the source's department,
  through the catalog service), store the rows as a new lake version (``ingest_file``, so
  quality screening applies) and publish it through the open-data gate like any other data.

Each package is imported in its own transaction; the job row (:class:`HarvestJob`) is
written in short transactions of its own, with a heartbeat, so a crash never leaves a job
``running``: the next run closes any job whose heartbeat is stale or whose process is gone
as ``failed``.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import OpenType, ResourceCreate, ResourceUpdate, UpdateCycle
from shudata.catalog.service import register_resource, update_resource
from shudata.core.clock import utcnow
from shudata.core.errors import Conflict, InvalidInput, NotFound, ShudataError
from shudata.core.ids import parse_id
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.portal import actions as A
from shudata.portal.models import HarvestJob, HarvestObject, HarvestSource, PortalDataset
from shudata.portal.service import publish, withdraw
from shudata.portal.states import HARVEST_JOBS, HarvestJobEvent, HarvestJobStatus
from shudata.portal.states import HarvestObjectStatus as Obj
from shudata.security.authz import require
from shudata.security.models import Department

STALE_MINUTES = 10
PAGE_ROWS = 1000  # datastore page size asked of the source
SEARCH_ROWS = 100
_CKAN_ITEM_TYPE = {"int": "I", "int2": "I", "int4": "I", "int8": "I", "integer": "I", "bigint": "I",
                   "float": "F", "float4": "F", "float8": "F", "double precision": "F", "numeric": "N",
                   "date": "D", "timestamp": "T", "bool": "L", "boolean": "L"}


class Remote(Protocol):
    """What the harvester calls on a source (``ckanapi.RemoteCKAN`` satisfies it)."""

    def call_action(self, action: str, data_dict: dict[str, Any] | None = None) -> Any: ...


Connect = Callable[[str, str | None], Remote]
Progress = Callable[[int, int, str], None]


def ckanapi_client(url: str, apikey: str | None) -> Remote:
    """A ``ckanapi.RemoteCKAN`` for ``url`` (the harvester's default client)."""
    try:
        from ckanapi import RemoteCKAN  # noqa: PLC0415 - ckanapi loads only when harvesting
    except ImportError as exc:  # pragma: no cover - ckanapi ships with the project
        raise InvalidInput("采集需要 ckanapi 客户端：请安装 ckanapi", "Harvesting needs ckanapi: pip install ckanapi",
                           code="ckanapi_missing") from exc
    client: Remote = RemoteCKAN(url, apikey=apikey, user_agent="shudata-harvester")
    return client


# -- sources and jobs -----------------------------------------------------------------------------

def add_source(*, session: Session, actor: Actor, name: str, url: str, department: str,
               apikey: str | None = None) -> HarvestSource:
    """Register a CKAN-compatible portal to harvest into ``department``'s entries."""
    require(actor, A.HARVEST_MANAGE)
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("采集源地址须以 http:// 或 https:// 开头", "The source URL must start with http(s)://",
                           details={"field": "url"}, code="bad_source_url")
    dept = _department(session, department)
    if session.scalar(select(HarvestSource.id).where(HarvestSource.name == name)) is not None:
        raise Conflict(f"采集源“{name}”已存在", f"Harvest source {name!r} already exists", code="harvest_source_exists")
    src = HarvestSource(name=name, url=url.rstrip("/"), department_id=dept.id,
                        config={"apikey": apikey} if apikey else {})
    session.add(src)
    session.flush()
    record(session, actor, events.PortalHarvestSourceAdd(
        resource_id=name, details={"url": src.url, "department": dept.name}))
    return src


def _department(session: Session, key: str) -> Department:
    dept = session.get(Department, dept_id) if (dept_id := parse_id(key)) is not None else None
    dept = dept or session.scalar(select(Department).where(Department.name == key))
    if dept is None:
        raise NotFound(f"部门“{key}”不存在", f"Department {key!r} not found", code="department_not_found")
    return dept


def get_source(session: Session, name: str) -> HarvestSource:
    src = session.scalar(select(HarvestSource).where(HarvestSource.name == name))
    if src is None:
        raise NotFound(f"采集源“{name}”不存在", f"Harvest source {name!r} not found", code="harvest_source_not_found",
                       details={"action": A.HARVEST_MANAGE.name, "resource_id": name})
    return src


def list_jobs(session: Session, source: str | None = None, limit: int = 20) -> list[HarvestJob]:
    stmt = select(HarvestJob)
    if source:
        stmt = stmt.where(HarvestJob.source_id == get_source(session, source).id)
    return list(session.scalars(stmt.order_by(HarvestJob.id.desc()).limit(limit)))


def _log(job: HarvestJob, level: str, message: str) -> None:
    job.log = [*(job.log or []), {"at": utcnow().isoformat(timespec="seconds"), "level": level,
                                  "message": message[:1000]}][-500:]


def _pid_alive(pid: int | None, host: str | None) -> bool:
    if pid is None or (host and host != socket.gethostname()):
        return True  # cannot tell from here: the heartbeat decides
    return psutil.pid_exists(pid)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def close_stale_jobs(session: Session, *, stale_minutes: int = STALE_MINUTES,
                     now: dt.datetime | None = None) -> list[int]:
    """Close as ``failed`` every job left ``running`` by a crash: heartbeat older than
    ``stale_minutes`` or process gone. Returns the ids closed."""
    now = now or utcnow()
    closed: list[int] = []
    for job in session.scalars(select(HarvestJob).where(HarvestJob.status == HarvestJobStatus.RUNNING)):
        stale = now - _aware(job.heartbeat_at) > dt.timedelta(minutes=stale_minutes)
        dead = not _pid_alive(job.pid, (job.stats or {}).get("host"))
        if stale or dead:
            job.status, job.finished_at = HARVEST_JOBS.next(job.status, HarvestJobEvent.CLOSE_STALE), now
            _log(job, "error", "任务中断（进程已退出或心跳超时），已标记为失败 / interrupted (process gone or "
                               f"heartbeat older than {stale_minutes} min): closed as failed")
            closed.append(job.id)
    session.flush()
    return closed


# -- one run ---------------------------------------------------------------------------------------

@dataclass
class RemotePackage:
    id: str
    name: str
    modified: str | None


class Harvest:
    """One run over one source; the job row is kept up to date in its own transactions."""

    def __init__(self, rt: Runtime, actor: Actor, source: HarvestSource, connect: Connect,
                 progress: Progress | None) -> None:
        self.rt, self.settings, self.actor = rt, rt.settings, actor
        self.source_id, self.source_name, self.department_id = source.id, source.name, source.department_id
        self.remote = connect(source.url, (source.config or {}).get("apikey"))
        self.progress = progress
        self.stats: dict[str, Any] = {"host": socket.gethostname(), "found": 0, "new": 0, "changed": 0,
                                      "unchanged": 0, "imported": 0, "refused": 0, "failed": 0, "deleted": 0,
                                      "rows": 0}
        with rt.transaction() as s:
            job = HarvestJob(source_id=source.id, status=HarvestJobStatus.RUNNING, stage="gather", pid=os.getpid(),
                             stats=dict(self.stats), log=[])
            _log(job, "info", f"开始采集 {source.url} / harvest started")
            s.add(job)
            s.flush()
            self.job_id = job.id

    def beat(self, *, stage: str | None = None, level: str | None = None, message: str | None = None,
             event: HarvestJobEvent | None = None) -> None:
        with self.rt.transaction() as s:
            job = s.get(HarvestJob, self.job_id)
            if job is None:  # an invariant, not input: a bug if it breaks
                raise RuntimeError("job is unexpectedly None")
            job.heartbeat_at = utcnow()
            job.stats = dict(self.stats)
            if stage:
                job.stage = stage
            if message:
                _log(job, level or "info", message)
            if event:
                job.status, job.finished_at = HARVEST_JOBS.next(job.status, event), utcnow()

    # gather
    def gather(self) -> tuple[list[RemotePackage], dict[str, HarvestObject]]:
        found: list[RemotePackage] = []
        start = 0
        while True:
            page = self.remote.call_action("package_search", {
                "q": "", "rows": SEARCH_ROWS, "start": start, "sort": "metadata_modified desc"})
            results = page.get("results") or []
            found += [RemotePackage(str(p["id"]), str(p["name"]), p.get("metadata_modified")) for p in results]
            start += len(results)
            self.beat()
            if not results or start >= int(page.get("count") or 0):
                break
        with self.rt.transaction() as s:
            known = {o.remote_id: o for o in s.scalars(select(HarvestObject).where(
                HarvestObject.source_id == self.source_id))}
            s.expunge_all()
        self.stats["found"] = len(found)
        return found, known

    # fetch
    def fetch(self, pkg: RemotePackage, folder: Path) -> tuple[dict[str, Any], Path, list[dict[str, str]]]:
        meta = self.remote.call_action("package_show", {"id": pkg.id})
        res = next((r for r in meta.get("resources") or [] if r.get("datastore_active")), None)
        if res is None:
            raise InvalidInput(f"{pkg.name} 没有可读取的数据存储资源", f"{pkg.name} has no datastore resource",
                               code="no_datastore_resource")
        path = folder / f"{pkg.name}.csv"
        fields: list[dict[str, str]] = []
        rows = 0
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            for page in self._pages(str(res["id"])):
                if not fields:
                    fields = [fd for fd in page["fields"] if fd["id"] != "_id"]
                    writer.writerow([fd["id"] for fd in fields])
                for rec in page["records"]:
                    writer.writerow(["" if rec.get(fd["id"]) is None else rec.get(fd["id"]) for fd in fields])
                rows += len(page["records"])
        self.stats["rows"] += rows
        return meta, path, fields

    def _pages(self, resource_id: str) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.remote.call_action("datastore_search", {"resource_id": resource_id, "limit": PAGE_ROWS,
                                                                "offset": offset})
            yield page
            got = len(page.get("records") or [])
            offset += got
            self.beat()
            if got == 0 or offset >= int(page.get("total") or 0):
                return

    # import
    def import_package(self, s: Session, pkg: RemotePackage, meta: dict[str, Any], path: Path,
                       fields: list[dict[str, str]], obj: HarvestObject | None) -> tuple[str, str]:
        """Store one fetched package; returns (object status, message)."""
        entry = _entry_values(meta, fields)
        res = s.get(CatalogResource, obj.resource_id) if obj and obj.resource_id else None
        if res is None or res.is_deleted:
            created = register_resource(session=s, actor=self.actor, data=ResourceCreate.model_validate({
                **entry, "provider_department_id": self.department_id, "sharing": {"type": 1, "method": "接口"}}),
                comment=f"采集自 {self.source_name}：{pkg.name}")
            code = created.code
        else:
            code = res.code
            update_resource(session=s, actor=self.actor, code=code, data=ResourceUpdate.model_validate(
                {**entry, "comment": f"采集更新（{self.source_name}：{pkg.name}）"}))
        version = ingest_file(session=s, settings=self.settings, actor=self.actor, resource_code=code, path=path,
                              source_name=f"{self.source_name}:{pkg.name}.csv")
        local = s.scalar(select(CatalogResource).where(CatalogResource.code == code))
        if local is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("local is unexpectedly None")
        if obj is None:
            obj = HarvestObject(source_id=self.source_id, remote_id=pkg.id, remote_name=pkg.name)
            s.add(obj)
        obj.resource_id, obj.remote_name, obj.last_job_id, obj.updated_at = local.id, pkg.name, self.job_id, utcnow()
        obj.remote_modified = pkg.modified
        ds = s.scalar(select(PortalDataset).where(PortalDataset.resource_id == local.id))
        if ds is not None and ds.status == "published" and ds.version == version.version:
            status, message = Obj.IMPORTED, f"{code} 第 {version.version} 版已发布"  # re-gated by the ingest
        else:
            pub = publish(session=s, settings=self.settings, actor=self.actor, resource=code, version=version.version)
            if pub.status == "published":
                status, message = Obj.IMPORTED, f"{code} 第 {version.version} 版已发布"
            else:
                cols = ", ".join(str(v.get("column")) for v in pub.gate.get("violations", []))
                status, message = Obj.REFUSED, f"{code} 第 {version.version} 版被开放闸门拒绝：{cols}"
        obj.status, obj.message = status, message
        s.flush()
        return status, message

    def run(self, stale_minutes: int) -> dict[str, Any]:
        found, known = self.gather()
        todo = [p for p in found if p.id not in known or known[p.id].status not in (Obj.IMPORTED, Obj.REFUSED)
                or known[p.id].remote_modified != p.modified]
        self.stats["new"] = sum(1 for p in todo if p.id not in known)
        self.stats["changed"] = len(todo) - self.stats["new"]
        self.stats["unchanged"] = len(found) - len(todo)
        self.beat(stage="fetch", message=f"发现 {len(found)} 个数据集，需导入 {len(todo)} 个 / "
                                          f"{len(found)} found, {len(todo)} to import")
        with tempfile.TemporaryDirectory(prefix="shudata-harvest-") as tmp:
            for i, pkg in enumerate(todo):
                if self.progress:
                    self.progress(i, len(todo), pkg.name)
                self._one(pkg, known.get(pkg.id), Path(tmp))
        self._withdraw_gone({p.id for p in found}, known)
        if self.progress:
            self.progress(len(todo), len(todo), "")
        return self.stats

    def _one(self, pkg: RemotePackage, obj: HarvestObject | None, folder: Path) -> None:
        try:
            meta, path, fields = self.fetch(pkg, folder)
            self.beat(stage="import")
            with self.rt.transaction() as s:
                if obj is not None:
                    obj = s.get(HarvestObject, obj.id)
                status, message = self.import_package(s, pkg, meta, path, fields, obj)
            path.unlink(missing_ok=True)
            self.stats["imported" if status == Obj.IMPORTED else "refused"] += 1
            self.beat(level="info" if status == Obj.IMPORTED else "warning", message=f"{pkg.name}: {message}")
        except Exception as exc:  # one bad package never stops the run
            self.stats["failed"] += 1
            text = exc.zh if isinstance(exc, ShudataError) else f"{type(exc).__name__}: {exc}"
            self._mark_failed(pkg, obj, text)
            self.beat(level="error", message=f"{pkg.name}: {text}")

    def _mark_failed(self, pkg: RemotePackage, obj: HarvestObject | None, text: str) -> None:
        with self.rt.transaction() as s:
            row = s.get(HarvestObject, obj.id) if obj is not None else None
            if row is None:
                row = HarvestObject(source_id=self.source_id, remote_id=pkg.id, remote_name=pkg.name)
                s.add(row)
            row.status, row.message, row.last_job_id, row.updated_at = Obj.FAILED, text[:2000], self.job_id, utcnow()

    def _withdraw_gone(self, present: set[str], known: dict[str, HarvestObject]) -> None:
        for remote_id, obj in known.items():
            if remote_id in present or obj.status == Obj.DELETED or obj.resource_id is None:
                continue
            with self.rt.transaction() as s:
                row = s.get(HarvestObject, obj.id)
                res = s.get(CatalogResource, obj.resource_id)
                if row is None:  # an invariant, not input: a bug if it breaks
                    raise RuntimeError("row is unexpectedly None")
                if res is None:  # an invariant, not input: a bug if it breaks
                    raise RuntimeError("res is unexpectedly None")
                ds = s.scalar(select(PortalDataset).where(PortalDataset.resource_id == res.id))
                if ds is not None and ds.status == "published":
                    withdraw(session=s, settings=self.settings, actor=self.actor, resource=res.code,
                             reason=f"采集源 {self.source_name} 已不再提供该数据集")
                row.status, row.message, row.last_job_id, row.updated_at = (
                    Obj.DELETED, "采集源已不再提供 / gone from the source", self.job_id, utcnow())
            self.stats["deleted"] += 1
            self.beat(level="warning", message=f"{obj.remote_name}: 源已删除，本地已撤回 / gone, withdrawn")


def _entry_values(meta: dict[str, Any], fields: list[dict[str, str]]) -> dict[str, Any]:
    extras = {e.get("key"): e.get("value") for e in meta.get("extras") or [] if isinstance(e, dict)}
    # a group's title is its theme (CKAN names are ASCII slugs: 人口 is renkou-…)
    groups = [g.get("title") or g.get("name") for g in meta.get("groups") or [] if isinstance(g, dict)]
    open_class = extras.get("open_class") if extras.get("open_class") in {o.value for o in OpenType} else \
        OpenType.OPEN.value
    if open_class == OpenType.NONE.value:
        open_class = OpenType.OPEN.value
    cycle = extras.get("update_cycle") if extras.get("update_cycle") in {c.value for c in UpdateCycle} else \
        UpdateCycle.MONTHLY.value
    title = str(meta.get("title") or meta.get("name"))[:200]
    return {
        "name": title if len(title) >= 2 else f"{title}数据",
        "abstract": str(meta.get("notes") or title)[:4000],
        "category_path": (extras.get("category_path") or (f"{groups[0]}/采集" if groups else None) or None),
        "format_category": "电子表格", "format_type": "csv",
        "information_items": [{"name": f["id"], "data_type": _CKAN_ITEM_TYPE.get(str(f.get("type")), "C")}
                              for f in fields],
        "open": {"type": open_class, "condition": extras.get("open_condition") or None},
        "update_cycle": cycle,
        "tags": [str(t.get("name")) for t in meta.get("tags") or [] if isinstance(t, dict)][:50],
    }


def run_harvest(*, rt: Runtime, actor: Actor, source: str, connect: Connect = ckanapi_client,
                stale_minutes: int = STALE_MINUTES, progress: Progress | None = None) -> HarvestJob:
    """Harvest ``source`` once. Closes crashed jobs first; refuses a second live run of the
    same source. Returns the finished job (``finished`` or ``failed``)."""
    require(actor, A.HARVEST_MANAGE)
    with rt.transaction() as s:
        close_stale_jobs(s, stale_minutes=stale_minutes)
        src = get_source(s, source)
        live = s.scalar(select(HarvestJob.id).where(HarvestJob.source_id == src.id,
                                                  HarvestJob.status == HarvestJobStatus.RUNNING))
        if live is not None:
            raise Conflict(f"采集源“{source}”已有正在运行的任务 #{live}",
                           f"Source {source!r} already has job {live} running",
                           details={"action": A.HARVEST_MANAGE.name, "resource_id": source}, code="harvest_job_running")
        s.expunge(src)
    h = Harvest(rt, actor, src, connect, progress)
    try:
        stats = h.run(stale_minutes)
        h.beat(stage="done", event=HarvestJobEvent.FINISH,
               message=f"完成：导入 {stats['imported']}，未变 {stats['unchanged']}，失败 {stats['failed']} / finished")
        with rt.transaction() as s:
            row = s.get(HarvestSource, h.source_id)
            if row is None:  # an invariant, not input: a bug if it breaks
                raise RuntimeError("row is unexpectedly None")
            row.last_success_at = utcnow()
            record(s, actor, events.PortalHarvestRun(
                resource_id=source,
                details={"job": h.job_id, **{k: v for k, v in stats.items() if k != "host"}}))
    except BaseException as exc:
        h.beat(stage="done", event=HarvestJobEvent.FAIL, level="error", message=f"采集失败 / failed: {exc}")
        raise
    with rt.transaction() as s:
        job = s.get(HarvestJob, h.job_id)
        if job is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("job is unexpectedly None")
        s.expunge(job)
    return job

