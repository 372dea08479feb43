"""Demo departments (部门) and accounts (账号).

Every department has a valid 统一社会信用代码 for a government body (登记管理部门 1 =
机构编制, 机构类别 1 = 机关), its real region code and a GB 11714 organisation code.

>>> from shudata.standards.uscc import is_valid_uscc
>>> all(is_valid_uscc(d.uscc, strict_org_code=True) for d in DEPARTMENTS)
True
>>> DEPARTMENTS[0].uscc
'1151000000820100X9'
"""

from __future__ import annotations

from dataclasses import dataclass

from shudata.core.types import Role
from shudata.standards.uscc import complete, org_code_check_char


def government_uscc(region_code: str, org_body: str) -> str:
    """Credit code of a government body: ``11`` + region + organisation code + check char.

    >>> government_uscc("510000", "00820100")
    '1151000000820100X9'
    """
    return complete(f"11{region_code}{org_body}{org_code_check_char(org_body)}")


@dataclass(frozen=True)
class DemoDepartment:
    key: str  # short latin key, used in user names
    name: str
    region_code: str
    org_body: str  # 8 characters of the organisation code
    english: str

    @property
    def uscc(self) -> str:
        return government_uscc(self.region_code, self.org_body)


DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment("fgw", "省发展改革委", "510000", "00820100", "Development and Reform Commission"),
    DemoDepartment("tjj", "省统计局", "510000", "00820217", "Statistics Bureau"),
    DemoDepartment("scjg", "省市场监管局", "510000", "00820331", "Market Regulation Administration"),
    DemoDepartment("sthj", "省生态环境厅", "510000", "00820445", "Ecology and Environment"),
    DemoDepartment("jtt", "省交通运输厅", "510000", "00820559", "Transport"),
    DemoDepartment("whly", "省文化和旅游厅", "510000", "00820663", "Culture and Tourism"),
    DemoDepartment("gat", "省公安厅", "510000", "00820777", "Public Security"),
    DemoDepartment("jyt", "省教育厅", "510000", "00820881", "Education"),
    DemoDepartment("cddata", "成都市大数据中心", "510100", "45072096", "Chengdu Big Data Center"),
)

ROLE_PASSWORDS: dict[Role, str] = {  # printed when the demo starts; change them before real use
    Role.PLATFORM_ADMIN: "Shudata@platform1",
    Role.DATA_STEWARD: "Shudata@steward1",
    Role.DEPT_USER: "Shudata@user1",
    Role.AUDITOR: "Shudata@audit1",
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    department_key: str | None = None

    @property
    def password(self) -> str:
        return ROLE_PASSWORDS[self.role]


def demo_users() -> tuple[DemoUser, ...]:
    """``admin`` (the issue's fixed name), an auditor, a steward and a user per department.

    >>> [u.username for u in demo_users()[:4]]
    ['admin', 'auditor', 'fgw_steward', 'fgw_user']
    """
    users = [DemoUser("admin", "平台管理员", Role.PLATFORM_ADMIN), DemoUser("auditor", "审计员", Role.AUDITOR)]
    for d in DEPARTMENTS:
        users.append(DemoUser(f"{d.key}_steward", f"{d.name}数据管理员", Role.DATA_STEWARD, d.key))
        users.append(DemoUser(f"{d.key}_user", f"{d.name}用户", Role.DEPT_USER, d.key))
    # the user whose sharing requests the demo files (see shudata.demo.sharing)
    users.append(DemoUser("consumer", "成都市大数据中心数据使用者", Role.DEPT_USER, "cddata"))
    return tuple(users)
