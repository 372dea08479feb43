"""Load the demo into a node: departments, accounts, catalog entries and their data.

Everything goes through the platform's services as ``Actor.system()``; each object is
created only when it is missing, so running the loader twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog import base_registries
from shudata.catalog import demand as demands
from shudata.catalog import service as catalog
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import DemandCreate, DemandLink, ResourceCreate, ResourceUpdate, SharingAttributes
from shudata.core.errors import ShudataError
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.demo import analysis as demo_analysis
from shudata.demo import dashboards as demo_dashboards
from shudata.demo import market as demo_market
from shudata.demo import portal as demo_portal
from shudata.demo import sharing
from shudata.demo.accounts import DEPARTMENTS, DemoDepartment, DemoUser, demo_users
from shudata.demo.aging import backdate_for_demo
from shudata.demo.demands import DEMANDS, REVISIONS, DemoDemand, DemoRevision
from shudata.demo.entries import ENTRIES, DemoEntry, FileSource
from shudata.demo.progress import Progress, Silent
from shudata.demo.rules import RULES
from shudata.demo.sources import source_file
from shudata.jobs.ingest import ingest_file
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.service import latest_version
from shudata.quality import service as quality
from shudata.security import service as security
from shudata.security.models import Department, User
from shudata.security.schemas import DepartmentCreate, UserCreate

SYSTEM = Actor.system()


@dataclass
class LoadReport:
    """What one run created (``created``) and found already there (``existing``)."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: list[tuple[str, ShudataError]] = field(default_factory=list)

    def note(self, what: str, created: bool) -> None:
        (self.created if created else self.existing).append(what)


def department_ids(session: Session) -> dict[str, int]:
    """Demo department key -> id, for the departments present."""
    by_name = {d.name: d.id for d in session.scalars(select(Department))}
    return {d.key: by_name[d.name] for d in DEPARTMENTS if d.name in by_name}


def ensure_department(session: Session, dept: DemoDepartment) -> bool:
    """Create the department unless one with its name exists; True when created."""
    if session.scalar(select(Department.id).where(Department.name == dept.name)) is not None:
        return False
    security.create_department(session=session, actor=SYSTEM, data=DepartmentCreate(
        name=dept.name, uscc=dept.uscc, region_code=dept.region_code))
    return True


def ensure_user(session: Session, user: DemoUser, departments: dict[str, int]) -> bool:
    """Create the account unless the user name exists; True when created."""
    if session.scalar(select(User.id).where(User.username == user.username)) is not None:
        return False
    dept_id = departments[user.department_key] if user.department_key else None
    security.create_user(session=session, actor=SYSTEM, data=UserCreate(
        username=user.username, display_name=user.display_name, password=user.password,
        department_id=dept_id, roles=[user.role]))
    return True


def load_accounts(rt: Runtime, report: LoadReport, progress: Progress, users: Sequence[DemoUser]) -> None:
    for dept in DEPARTMENTS:
        progress.step(f"部门 {dept.name}")
        with rt.transaction() as s:
            report.note(f"部门 {dept.name}", ensure_department(s, dept))
    for user in users:
        progress.step(f"账号 {user.username}")
        with rt.transaction() as s:
            report.note(f"账号 {user.username}", ensure_user(s, user, department_ids(s)))


def resource_create(entry: DemoEntry, provider_id: int) -> ResourceCreate:
    """The catalog registration of a demo entry (base registries start from their template)."""
    fields: dict[str, Any] = {
        "code": entry.code, "name": entry.name, "alias": entry.alias, "classification": entry.classification,
        "category_path": entry.category_path, "abstract": entry.abstract,
        "format_category": entry.format_category, "format_type": entry.format_type,
        "open": entry.open, "update_cycle": entry.update_cycle, "publish_date": entry.publish_date,
        "related_codes": list(entry.related_codes), "base_registry": entry.base_registry,
        "tags": list(entry.tags), "provider_department_id": provider_id,
    }
    if entry.template is not None:
        return base_registries.template_create(entry.template, sharing=SharingAttributes(**entry.sharing),
                                               extra_items=entry.items(), **fields)
    return ResourceCreate.model_validate({
        **fields, "sharing": entry.sharing, "information_items": [i.model_dump() for i in entry.items()]})


def ensure_entry(session: Session, entry: DemoEntry) -> bool:
    """Register the entry unless its code is taken; True when registered."""
    if session.scalar(select(CatalogResource.id).where(CatalogResource.code == entry.code)) is not None:
        return False
    data = resource_create(entry, department_ids(session)[entry.provider])
    catalog.register_resource(session=session, actor=SYSTEM, data=data, comment="演示数据 / demo")
    return True


def ensure_data(rt: Runtime, entry: DemoEntry) -> bool:
    """Ingest the entry's data unless it already has a version; True when ingested."""
    if entry.source is None:
        return False
    with rt.transaction() as s:
        res = find_resource(s, entry.code)
        if latest_version(s, res.id) is not None:
            return False
        options = entry.source.options if isinstance(entry.source, FileSource) else {}
        with source_file(entry.source) as path:
            version = ingest_file(session=s, settings=rt.settings, actor=SYSTEM, resource_code=entry.code,
                                  path=path, options=IngestOptions(comment="演示数据 / demo", **options))
        if entry.published_at is not None:
            backdate_for_demo(s, resource_id=res.id, version=version.version, when=entry.published_at)
    return True


def load_entries(rt: Runtime, report: LoadReport, progress: Progress, entries: Sequence[DemoEntry]) -> None:
    for entry in entries:
        progress.step(f"目录 {entry.name}")
        with rt.transaction() as s:
            report.note(f"目录 {entry.code} {entry.name}", ensure_entry(s, entry))
        if entry.source is not None:
            progress.step(f"数据 {entry.name}")
            what = f"数据 {entry.code} {entry.name}"
            try:
                report.note(what, ensure_data(rt, entry))
            except ShudataError as exc:  # one refused file must not stop the rest of the demo
                report.failed.append((what, exc))


def ensure_demand(session: Session, demand: DemoDemand) -> bool:
    """Record the demand (and link its answer) unless its department already has one with that title."""
    dept_id = department_ids(session)[demand.department]
    titles = {d.title for d in demands.list_demands(session=session, actor=SYSTEM, department_id=dept_id)}
    if demand.title in titles:
        return False
    created = demands.create_demand(session=session, actor=SYSTEM, data=DemandCreate(
        title=demand.title, description=demand.description, wanted_fields=list(demand.wanted_fields),
        purpose=demand.purpose, department_id=dept_id))
    if demand.answer is not None:
        demands.link_demand(session=session, actor=SYSTEM, demand_id=created.id,
                            data=DemandLink(resource_code=demand.answer, comment="演示数据 / demo"))
    return True


def ensure_revision(session: Session, revision: DemoRevision) -> bool:
    """Apply the change unless the entry's history already has a version with its comment."""
    history = catalog.history(session=session, actor=SYSTEM, code=revision.code)
    if any(r.comment == revision.comment for r in history):
        return False
    catalog.update_resource(session=session, actor=SYSTEM, code=revision.code,
                            data=ResourceUpdate.model_validate({**revision.changes, "comment": revision.comment}))
    return True


def load_revisions(rt: Runtime, report: LoadReport, progress: Progress, entries: Sequence[DemoEntry]) -> None:
    for revision in applicable_revisions(entries):
        progress.step(f"变更 {revision.code}")
        with rt.transaction() as s:
            report.note(f"变更 {revision.code} {revision.comment}", ensure_revision(s, revision))


def ensure_rules(rt: Runtime, code: str) -> bool:
    """Save the entry's demo rule set and check its data once, unless it already has rules."""
    with rt.transaction() as s:
        if quality.get_rule_set(session=s, actor=SYSTEM, resource=code) is not None:
            return False
        quality.save_rule_set(session=s, actor=SYSTEM, resource=code, spec=RULES[code],
                              comment="演示数据 / demo")
    with rt.transaction() as s:
        quality.check(session=s, settings=rt.settings, actor=SYSTEM, resource=code)
    return True


def load_rules(rt: Runtime, report: LoadReport, progress: Progress, entries: Sequence[DemoEntry]) -> None:
    for code in applicable_rules(entries):
        progress.step(f"质量规则 {code}")
        report.note(f"质量规则 {code}", ensure_rules(rt, code))


def applicable_rules(entries: Sequence[DemoEntry]) -> list[str]:
    return [e.code for e in entries if e.code in RULES and e.source is not None]


def applicable_revisions(entries: Sequence[DemoEntry]) -> list[DemoRevision]:
    codes = {e.code for e in entries}
    return [r for r in REVISIONS if r.code in codes]


def load_sharing_requests(rt: Runtime, report: LoadReport, progress: Progress,
                          entries: Sequence[DemoEntry]) -> None:
    """The consumer's sharing requests, when their entries are part of this load."""
    if not sharing_applies(entries):
        return
    progress.step("共享申请")
    with rt.transaction() as s:
        report.note("共享申请", sharing.load_sharing(s, rt.settings) > 0)


def sharing_applies(entries: Sequence[DemoEntry]) -> bool:
    return {code for code, *_ in sharing.REQUESTS} <= {e.code for e in entries}


def applicable_demands(entries: Sequence[DemoEntry]) -> list[DemoDemand]:
    """The demands whose answer is among ``entries`` (all of them for the whole demo)."""
    codes = {e.code for e in entries}
    return [d for d in DEMANDS if d.answer is None or d.answer in codes]


def load_demands(rt: Runtime, report: LoadReport, progress: Progress, entries: Sequence[DemoEntry]) -> None:
    for demand in applicable_demands(entries):
        progress.step(f"需求 {demand.title}")
        with rt.transaction() as s:
            report.note(f"需求 {demand.title}", ensure_demand(s, demand))


def load_portal(rt: Runtime, report: LoadReport, progress: Progress, entries: Sequence[DemoEntry]) -> None:
    """Publish the open entries through the open-data gate; public data requests."""
    for entry in demo_portal.open_entries(entries):
        progress.step(f"开放 {entry.name}")
        what = f"开放 {entry.code} {entry.name}"
        try:
            with rt.transaction() as s:
                status = demo_portal.ensure_published(s, rt.settings, entry)
        except ShudataError as exc:
            report.failed.append((what, exc))
            continue
        if status == "refused":
            report.note(f"{what}（开放闸门拒绝 / refused by the gate）", True)
        elif status != "no_data":
            report.note(what, status != "existing")
    with rt.transaction() as s:
        report.note("公众数据需求", demo_portal.ensure_requests(s))


def load_market(rt: Runtime, report: LoadReport, progress: Progress, entries: Sequence[DemoEntry]) -> None:
    """The market: operator, enterprises, a department product under 授权运营 and a settled order."""
    if not demo_market.applies({e.code for e in entries}):
        return
    progress.step("数据交易市场")
    try:
        with rt.transaction() as s:
            report.note("数据交易市场（交易主体、挂牌产品、已结算订单）", demo_market.load_market(s, rt.settings))
    except ShudataError as exc:
        report.failed.append(("数据交易市场", exc))


def load_analysis(rt: Runtime, report: LoadReport, progress: Progress, entries: Sequence[DemoEntry]) -> None:
    """The indicator system on the real series: national and environment entries, layouts, indicators, alerts."""
    if not demo_analysis.applies({e.code for e in entries}):
        return
    progress.step("指标体系与预警")
    try:
        done = demo_analysis.load_analysis(rt, entries, ensure_entry, ensure_data)
    except ShudataError as exc:
        report.failed.append(("指标体系", exc))
        return
    report.note(f"指标体系（{len(demo_analysis.INDICATORS)} 个指标，计算 {done.seconds.get('indicators', 0)} 秒）",
                bool(done.created))
    try:
        with rt.transaction() as s:
            report.note("仪表板（四川经济运行监测，已公开发布）", demo_dashboards.load_dashboards(s))
    except ShudataError as exc:
        report.failed.append(("仪表板", exc))


def total_steps(users: Sequence[DemoUser], entries: Sequence[DemoEntry]) -> int:
    return (len(DEPARTMENTS) + len(users) + len(entries) + sum(1 for e in entries if e.source)
            + len(applicable_demands(entries)) + len(applicable_revisions(entries)) + len(applicable_rules(entries))
            + int(sharing_applies(entries)) + len(demo_portal.open_entries(entries))
            + int(demo_market.applies({e.code for e in entries}))
            + int(demo_analysis.applies({e.code for e in entries})))


def load_demo(rt: Runtime, *, progress: Progress | None = None, users: Sequence[DemoUser] | None = None,
              entries: Sequence[DemoEntry] = ENTRIES) -> LoadReport:
    """Load (or complete) the demo in ``rt``'s data folder and metadata store.

    ``users`` and ``entries`` default to the whole demo (tests load a part of it).
    """
    progress = progress or Silent()
    users = demo_users() if users is None else users
    report = LoadReport()
    progress.start(total_steps(users, entries))
    load_accounts(rt, report, progress, users)
    load_entries(rt, report, progress, entries)
    load_revisions(rt, report, progress, entries)
    load_rules(rt, report, progress, entries)
    load_demands(rt, report, progress, entries)
    load_sharing_requests(rt, report, progress, entries)
    load_portal(rt, report, progress, entries)
    load_market(rt, report, progress, entries)
    load_analysis(rt, report, progress, entries)
    return report
