"""The demo's demand list (需求清单) and later metadata changes (目录变更).

Some demands are already matched to the entry that answers them, others are open.

>>> sum(1 for d in DEMANDS if d.answer) >= 1 and sum(1 for d in DEMANDS if not d.answer) >= 1
True
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoDemand:
    department: str  # DemoDepartment.key
    title: str
    description: str
    wanted_fields: tuple[str, ...]
    purpose: str
    answer: str | None = None  # resource code the steward linked (None: still open)


DEMANDS: tuple[DemoDemand, ...] = (
    DemoDemand("scjg", "企业法定代表人身份核验", "办理企业设立登记时核验法定代表人的身份信息。",
               ("公民身份号码", "姓名"), "企业登记“一网通办”", answer="101001/000001"),
    DemoDemand("fgw", "全省市场主体登记信息", "社会信用体系建设需要全省市场主体的登记信息，按统一社会信用代码归集。",
               ("统一社会信用代码", "机构名称", "法定代表人", "登记状态"), "信用信息归集与联合奖惩",
               answer="102001/000001"),
    DemoDemand("sthj", "企业行政处罚信用信息", "环境执法前需要了解企业近三年受到的行政处罚情况。",
               ("统一社会信用代码", "信用类型", "内容", "决定日期"), "环境执法与信用监管", answer="104001/000001"),
    DemoDemand("cddata", "各省地区生产总值（年度）", "成都市经济运行监测需要与其他省份的地区生产总值作对比。",
               ("地区", "地区生产总值"), "经济运行监测与对标分析"),
    DemoDemand("jtt", "A级旅游景区名称和坐标", "规划旅游公路和景区交通指引标志需要全省 A 级景区的位置。",
               ("名称", "等级", "经度", "纬度"), "旅游交通规划"),
    DemoDemand("jyt", "高校毕业生就业登记信息", "分析本省高校毕业生的就业去向。",
               ("学校名称", "毕业年份", "就业单位", "就业地区"), "高校毕业生就业监测"),
)


@dataclass(frozen=True)
class DemoRevision:
    """A later change of an entry's metadata, so its page shows a version history."""

    code: str
    changes: dict[str, object]
    comment: str


REVISIONS: tuple[DemoRevision, ...] = (
    DemoRevision("202001/000001", {
        "abstract": "四川省 21 个市（州）的 A 级旅游景区 819 家：名称、所在市州和区县、等级（5A—1A）、地址和经纬度。"
                    "所在市州使用简称（如“阿坝州”）；经纬度为十进制度，坐标系未注明。",
        "tags": ["旅游", "景区", "文旅", "开放数据"],
    }, "补充字段说明，增加“开放数据”标签"),
)
