"""Load the demo into a node: departments, accounts, catalog entries and their data.

Everything goes through the platform's services as ``Actor.system()``; each object is
created only when it is missing, so running the loader twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.demo.accounts import DEPARTMENTS, DemoDepartment, DemoUser, demo_users
from shudata.demo.progress import Progress, Silent
from shudata.security import service as security
from shudata.security.models import Department, User
from shudata.security.schemas import DepartmentCreate, UserCreate

SYSTEM = Actor.system()


@dataclass
class LoadReport:
    """What one run created (``created``) and found already there (``existing``)."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

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


def load_accounts(rt: Runtime, report: LoadReport, progress: Progress) -> None:
    for dept in DEPARTMENTS:
        progress.step(f"部门 {dept.name}")
        with rt.transaction() as s:
            report.note(f"部门 {dept.name}", ensure_department(s, dept))
    for user in demo_users():
        progress.step(f"账号 {user.username}")
        with rt.transaction() as s:
            report.note(f"账号 {user.username}", ensure_user(s, user, department_ids(s)))


def load_demo(rt: Runtime, *, progress: Progress | None = None) -> LoadReport:
    """Load (or complete) the demo in ``rt``'s data folder and metadata store."""
    progress = progress or Silent()
    report = LoadReport()
    progress.start(len(DEPARTMENTS) + len(demo_users()))
    load_accounts(rt, report, progress)
    return report
