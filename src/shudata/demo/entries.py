"""The demo's catalog entries: full metadata, and where each entry's data comes from.

A :class:`FileSource` is a real file bundled in ``shudata/demo/data`` (ingested as it is);
a :class:`TableSource` is a generated table (written to a temporary Parquet file, then
ingested). ``published_at`` marks the demo device that dates an entry's only version back
to when its figures were really published (see :mod:`shudata.demo.aging`).

>>> codes = [e.code for e in ENTRIES]
>>> len(codes) == len(set(codes))
True
>>> any(e.name == "四川省企业信用信息" for e in ENTRIES)
True
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from shudata.catalog.schemas import InformationItem
from shudata.demo.generators.credit import generate_credit_records
from shudata.demo.generators.entities import generate_entities
from shudata.demo.generators.persons import generate_persons
from shudata.demo.generators.regions import regions_table, townships_table
from shudata.demo.items import item, months, period_items, table_items, years

PERSONS, ENTITIES = 5000, 1000
CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class FileSource:
    """A bundled file, relative to ``shudata/demo/data``, and the uploader's choices."""

    path: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSource:
    """A generated table; ``file_name`` is what the version records as its source."""

    make: Callable[[], pa.Table]
    file_name: str


@dataclass(frozen=True)
class DemoEntry:
    code: str
    name: str
    provider: str  # DemoDepartment.key
    classification: str
    category_path: str
    abstract: str
    items: Callable[[], list[InformationItem]]
    sharing: dict[str, Any]
    open: dict[str, Any]
    update_cycle: str
    format_category: str = "电子表格"
    format_type: str = "csv"
    alias: str | None = None
    base_registry: str | None = None
    tags: tuple[str, ...] = ()
    related_codes: tuple[str, ...] = ()
    publish_date: dt.date | None = None
    source: FileSource | TableSource | None = None
    published_at: dt.datetime | None = None  # demo device: the date the data were really published
    template: str | None = None  # base-registry template; ``items`` then lists the extra items only


# -- generated base registries (cached: the loader and the item builders share them) -------------

@functools.cache
def persons() -> pa.Table:
    return generate_persons(PERSONS, seed=2018)


@functools.cache
def entities() -> pa.Table:
    return generate_entities(ENTITIES, seed=2019)


@functools.cache
def credit_records() -> pa.Table:
    return generate_credit_records(entities(), seed=2020)


UNCONDITIONAL_TABLE = {"type": 1, "method": "库表"}
UNCONDITIONAL_FILE = {"type": 1, "method": "文件"}
OPEN = {"type": "无条件开放"}
CLOSED = {"type": "不予开放"}

NBS = "数据来源：国家统计局（国家数据 data.stats.gov.cn）分省数据导出文件，原样上传（GBK 编码，含标题行和注释行）。"

BASE_ENTRIES: tuple[DemoEntry, ...] = (
    DemoEntry(
        code="101001/000001", name="四川省人口基础信息", provider="gat", classification="基础",
        category_path="基础信息资源/人口/人口基础信息", alias="人口基础信息", base_registry="人口",
        abstract="全省户籍人口基础信息（人口基础库标准信息项）：公民身份号码、姓名、性别、民族、出生日期、出生地、"
                 "户籍地址、行政区划代码、婚姻状况、文化程度、联系电话、死亡日期；代码项按国家标准。"
                 "演示数据为固定种子生成的虚构人员，身份证号校验位有效、户籍地为真实县级区划。",
        template="人口", items=list,
        sharing={"type": 2, "method": "接口",
                 "condition": "仅向履行法定职责的政务部门提供核验类服务，须经省公安厅审核；按授权字段脱敏交付。"},
        open=CLOSED, update_cycle="每月", format_category="数据库", format_type="parquet",
        tags=("人口", "户籍", "基础库"), source=TableSource(persons, "四川省人口基础信息.parquet"),
    ),
    DemoEntry(
        code="102001/000001", name="四川省法人单位基础信息", provider="scjg", classification="基础",
        category_path="基础信息资源/法人/法人单位基础信息", alias="法人基础信息", base_registry="法人",
        abstract="全省市场主体登记信息（法人基础库标准信息项）：统一社会信用代码、机构名称、机构类型、法定代表人、"
                 "成立日期、注册资本、登记机关、经营范围、登记状态、住所、行政区划代码。"
                 "演示数据为虚构企业，统一社会信用代码校验位有效、与住所区划一致。",
        template="法人", items=list,
        sharing=UNCONDITIONAL_TABLE, open={"type": "有条件开放", "condition": "法定代表人字段仅对实名认证用户开放"},
        update_cycle="每月", format_category="数据库", format_type="parquet",
        tags=("法人", "市场主体", "基础库"), source=TableSource(entities, "四川省法人单位基础信息.parquet"),
    ),
    DemoEntry(
        code="104001/000001", name="四川省企业信用信息", provider="fgw", classification="基础",
        category_path="基础信息资源/社会信用/信用信息", alias="企业信用信息", base_registry="社会信用",
        abstract="全省企业行政许可和行政处罚（“双公示”）信用信息，按统一社会信用代码归集，"
                 "供信用中国（四川）查询和联合奖惩使用。演示数据与法人单位基础信息中的虚构企业对应。",
        template="社会信用", items=lambda: [item("罚款金额", "Y", None, "罚款金额（万元），行政许可为空")],
        sharing=UNCONDITIONAL_TABLE, open=OPEN, update_cycle="每月", format_category="数据库",
        format_type="parquet", tags=("信用", "双公示", "行政许可", "行政处罚"), related_codes=("102001/000001",),
        source=TableSource(credit_records, "四川省企业信用信息.parquet"),
    ),
    DemoEntry(
        code="103001/000001", name="全国县级以上行政区划代码", provider="tjj", classification="基础",
        category_path="基础信息资源/自然资源和地理空间/行政区划", alias="行政区划代码",
        base_registry="自然资源和地理空间",
        abstract="省、地、县三级行政区划代码、名称、类型和中心点经纬度（国家统计局统计用区划代码 2022 年版；"
                 "中心点来自 cpca 数据包），用于区划字段的校验与标准化。面积、土地利用类型、高程、空间范围暂缺。",
        template="自然资源和地理空间", items=list,
        sharing=UNCONDITIONAL_TABLE, open=OPEN, update_cycle="每年", format_type="parquet",
        tags=("行政区划", "代码表"), source=TableSource(regions_table, "行政区划代码.parquet"),
    ),
    DemoEntry(
        code="103001/000002", name="四川省乡镇（街道）区划代码", provider="tjj", classification="基础",
        category_path="自然资源和地理空间/行政区划/乡级区划",
        abstract="四川省乡镇、街道的 9 位统计用区划代码和名称及所属区县（国家统计局 2022 年版）。",
        items=lambda: table_items(townships_table(), {"乡镇街道代码": 9, "所属区县代码": 6},
                                  {"乡镇街道代码": "9 位统计用区划代码"}),
        sharing=UNCONDITIONAL_TABLE, open=OPEN, update_cycle="每年", format_type="parquet",
        tags=("行政区划", "乡镇", "街道"), related_codes=("103001/000001",),
        source=TableSource(townships_table, "四川省乡镇街道区划代码.parquet"),
    ),
)

ECONOMY_ENTRIES: tuple[DemoEntry, ...] = (
    DemoEntry(
        code="201001/000001", name="分省地区生产总值（年度）", provider="tjj", classification="主题",
        category_path="经济运行/国民经济核算/地区生产总值", alias="分省GDP",
        abstract="31 个省（区、市）2006—2024 年地区生产总值（亿元），第五次全国经济普查后修订。" + NBS,
        items=lambda: period_items("地区", years(2024, 2006), "地区生产总值（亿元）"),
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每年", tags=("GDP", "经济", "统计"),
        source=FileSource("economy/nbs_province_annual_gbk/gdp_100m_yuan.csv"),
    ),
    DemoEntry(
        code="201001/000002", name="分省人口数（人口抽样调查）", provider="tjj", classification="主题",
        category_path="经济运行/人口/人口抽样调查",
        abstract="31 个省（区、市）2006—2024 年人口抽样调查人口数（人）；2025 年列尚未发布。" + NBS,
        items=lambda: period_items("地区", years(2025, 2006), "人口数（人）"),
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每年", tags=("人口", "统计"),
        source=FileSource("economy/nbs_province_annual_gbk/population_sample_survey_persons.csv"),
    ),
    DemoEntry(
        code="201001/000003", name="分省城镇单位就业人员（年度）", provider="tjj", classification="主题",
        category_path="经济运行/就业/城镇单位就业",
        abstract="31 个省（区、市）2008—2024 年城镇单位就业人员（万人）。" + NBS,
        items=lambda: period_items("地区", years(2025, 2006), "城镇单位就业人员（万人）"),
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每年", tags=("就业", "统计"),
        source=FileSource("economy/nbs_province_annual_gbk/urban_unit_employment_10k.csv"),
    ),
    DemoEntry(
        code="201002/000001", name="分省居民消费价格指数（月度）", provider="tjj", classification="主题",
        category_path="经济运行/价格/居民消费价格指数", alias="分省CPI",
        abstract="31 个省（区、市）居民消费价格指数（上年同月=100），2020 年 1—2 月。" + NBS
                 + " 该资源按月更新，但最新数据停留在 2020 年 2 月，已超期。",
        items=lambda: period_items("地区", months((2020, 3), 3), "居民消费价格指数（上年同月=100）"),
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每月", tags=("CPI", "价格", "统计"),
        source=FileSource("economy/nbs_province_monthly_cpi_2020q1_gbk/province_cpi_yoy_all.csv"),
        published_at=dt.datetime(2020, 3, 10, 9, 30, tzinfo=CST),
    ),
    DemoEntry(
        code="201002/000002", name="四川省房地产开发投资（月度）", provider="tjj", classification="主题",
        category_path="经济运行/固定资产投资/房地产开发",
        abstract="四川省 2017—2019 年逐月房地产开发投资累计值（亿元）和累计增长（%），含住宅投资；"
                 "1 月数据与 2 月合并发布。国家统计局数据，UTF-8（带 BOM）CSV。"
                 "该资源按月更新，但最新数据为 2019 年 12 月，已超期。",
        items=lambda: period_items("指标", months((2019, 12), 36), "", key_meaning="指标名称及单位"),
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每月", tags=("房地产", "投资", "统计"),
        source=FileSource("economy/nbs_province_monthly_realestate_2017-2019/csv_utf8bom/四川.csv"),
        published_at=dt.datetime(2020, 1, 17, 10, 0, tzinfo=CST),
    ),
    DemoEntry(
        code="201001/000004", name="分省地区生产总值（2015—2019年，2020年发布）", provider="tjj",
        classification="主题", category_path="经济运行/国民经济核算/地区生产总值",
        abstract="国家统计局 2020 年发布的分省地区生产总值（亿元），2018 年为第四次经济普查修订后数据、"
                 "2015—2017 年为修订前数据，与修订后的年度序列可作一致性比对。Excel 97-2003（XLS）原始导出。",
        items=lambda: period_items("地区", years(2019, 2015), "地区生产总值（亿元）"),
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每年", format_type="xls", tags=("GDP", "统计"),
        related_codes=("201001/000001",),
        source=FileSource("economy/nbs_xls_exports/province_gdp_2015-2019.xls"),
    ),
    DemoEntry(
        code="201001/000005", name="主要城市地区生产总值（2015—2019年）", provider="cddata",
        classification="主题", category_path="经济运行/国民经济核算/城市生产总值",
        abstract="全国 36 个主要城市（含成都）2015—2019 年国内生产总值（亿元），2019 年多数城市尚未发布。"
                 "国家统计局 XLS 原始导出，成都市大数据中心汇集。",
        items=lambda: period_items("地区", years(2019, 2015), "国内生产总值（亿元）", key_meaning="城市"),
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每年", format_type="xls", tags=("GDP", "城市", "成都"),
        source=FileSource("economy/nbs_xls_exports/major_cities_gdp_2015-2019.xls"),
    ),
)

OTHER_ENTRIES: tuple[DemoEntry, ...] = (
    DemoEntry(
        code="202001/000001", name="四川省A级旅游景区名录", provider="whly", classification="主题",
        category_path="文化旅游/旅游资源/A级旅游景区", alias="A级景区",
        abstract="四川省 21 个市（州）的 A 级旅游景区 819 家：名称、所在市州和区县、等级（5A—1A）、地址和经纬度。",
        items=lambda: [item("序号", "I", None, "名录序号"), item("名称", "C", 100, "景区名称"),
                       item("所在市州", "C", 20), item("所在区县", "C", 20), item("等级", "C", 4, "5A/4A/3A/2A/1A"),
                       item("地址", "C", 200), item("经度", "F", None, "十进制度"),
                       item("纬度", "F", None, "十进制度")],
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每季度", format_type="xlsx",
        tags=("旅游", "景区", "文旅"), source=FileSource("opendata/sichuan_a_grade_scenic_areas.xlsx"),
    ),
    DemoEntry(
        code="203001/000001", name="全国普通高等学校名单（2017年）", provider="jyt", classification="主题",
        category_path="教育/高等教育/普通高等学校",
        abstract="教育部公布的全国普通高等学校名单（2017 年，2631 所，其中四川 109 所）：学校名称、学校标识码、"
                 "主管部门、所在地、办学层次、备注。原始 XLS 含标题行和按省分节行。",
        items=lambda: [item("序号", "I"), item("学校名称", "C", 100), item("学校标识码", "C", 10, "10 位学校标识码"),
                       item("主管部门", "C", 50), item("所在地", "C", 50, "所在城市"),
                       item("办学层次", "C", 10, "本科/专科"), item("备注", "C", 50, "民办/中外合作办学等")],
        sharing=UNCONDITIONAL_FILE, open=OPEN, update_cycle="每年", format_type="xls", tags=("高校", "教育"),
        source=FileSource("opendata/moe_higher_education_institutions_2017.xls", {"header_row": 3}),
    ),
    DemoEntry(
        code="301001/000001", name="四川省环境空气质量监测数据", provider="sthj", classification="部门",
        category_path="生态环境/大气环境/空气质量监测",
        abstract="全省国控、省控空气质量监测站点逐小时监测数据：PM2.5、PM10、SO2、NO2、O3、CO 浓度和 AQI。"
                 "接口接入中，尚无数据。",
        items=lambda: [item("站点编码", "C", 10), item("站点名称", "C", 50), item("所在区县代码", "C", 6),
                       item("监测时间", "T"), item("PM2.5", "N", 8, "μg/m³"), item("PM10", "N", 8, "μg/m³"),
                       item("SO2", "N", 8, "μg/m³"), item("NO2", "N", 8, "μg/m³"), item("O3", "N", 8, "μg/m³"),
                       item("CO", "N", 8, "mg/m³"), item("AQI", "I"), item("首要污染物", "C", 20)],
        sharing={"type": 1, "method": "接口"}, open=OPEN, update_cycle="实时", format_category="数据库",
        format_type="api", tags=("空气质量", "环境监测")),
    DemoEntry(
        code="302001/000001", name="四川省道路运输经营许可信息", provider="jtt", classification="部门",
        category_path="交通运输/道路运输/经营许可",
        abstract="全省道路旅客运输、货物运输经营许可证信息：经营者名称、统一社会信用代码、许可证号、经营范围、有效期。",
        items=lambda: [item("经营者名称", "C", 100), item("统一社会信用代码", "C", 18), item("许可证号", "C", 30),
                       item("经营范围", "C", 200), item("发证日期", "D"), item("有效期至", "D")],
        sharing={"type": 2, "method": "接口", "condition": "用于市场监管、信用联合奖惩的部门可申请"},
        open={"type": "有条件开放", "condition": "需实名注册并说明用途"}, update_cycle="每周",
        format_category="数据库", format_type="mysql", tags=("道路运输", "许可")),
    DemoEntry(
        code="303001/000001", name="四川省流动人口居住登记信息", provider="gat", classification="部门",
        category_path="公共安全/人口管理/居住登记",
        abstract="流动人口居住登记和居住证办理信息。涉及大量个人信息，仅在公安机关内部使用。",
        items=lambda: [item("公民身份号码", "C", 18), item("姓名", "C", 50), item("居住地址", "C", 200),
                       item("登记日期", "D"), item("居住证号", "C", 30)],
        sharing={"type": 3, "method": "库表",
                 "condition": "依据《中华人民共和国个人信息保护法》和《居住证暂行条例》"
                              "关于个人信息保密的规定，不予共享"},
        open=CLOSED, update_cycle="每日", format_category="数据库", format_type="oracle", tags=("流动人口",)),
)

ENTRIES: tuple[DemoEntry, ...] = BASE_ENTRIES + ECONOMY_ENTRIES + OTHER_ENTRIES
