"""The demo's indicator system (issue 18): economic monitoring on the real NBS series and environment
monitoring on the real air-quality readings, with alert rules and a subscription.

The national series (1978–2014 annual, monthly CPI by category and money supply), Chengdu's hourly PM2.5
with weather and three prefectures' station-hourly readings become catalog entries of 省统计局 and
省生态环境厅 that declare their layouts, so their versions are reshaped to long form on ingest (the raw
files stay the versions they are). The provincial NBS entries of the base demo get their layouts too.
Then :data:`INDICATORS` (three levels: 经济运行 → 投资 → 房地产开发投资 …) are installed and computed once.

>>> len([i for i in INDICATORS if i.definition["kind"] != "group"]) >= 40
True
>>> len({i.code for i in INDICATORS}) == len(INDICATORS)
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.analysis import recompute, store
from shudata.analysis.models import AnalysisAlertRule, AnalysisIndicator, AnalysisSubscription
from shudata.analysis.schemas import IndicatorWrite, RuleWrite, SubscriptionWrite
from shudata.analysis.service import create_indicator, create_rule, declare_layout, subscribe
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import InformationItem
from shudata.core.errors import NotFound
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.demo.accounts import DEPARTMENTS
from shudata.demo.entries import OPEN, UNCONDITIONAL_FILE, DemoEntry, FileSource
from shudata.demo.sources import bundled
from shudata.jobs.ingest import preview_file
from shudata.lake.service import latest_version
from shudata.security.models import Department, User
from shudata.security.service import actor_for

SYSTEM = Actor.system()
NBS_NATIONAL = "国家统计局（国家数据 data.stats.gov.cn）全国数据导出文件，原样上传（含标题行和注释行）。"


def _proposed(path: str) -> Callable[[], list[InformationItem]]:
    """The information items of a bundled file as the platform proposes them (columns as uploaded)."""
    def items() -> list[InformationItem]:
        # lengths from a sample are too tight for the whole file: text items get none
        return [InformationItem.model_validate({**i, "length": None}) for i in
                preview_file(bundled(path))["proposed_items"]]
    return items


def _entry(code: str, name: str, provider: str, path: str, abstract: str, *, cycle: str, category: str,
           tags: tuple[str, ...]) -> DemoEntry:
    return DemoEntry(code=code, name=name, provider=provider, classification="主题", category_path=category,
                     abstract=abstract, items=_proposed(path), sharing=UNCONDITIONAL_FILE, open=OPEN,
                     update_cycle=cycle, tags=tags, source=FileSource(path))


_NAT = "economy/nbs_national_annual_1978-2014/"
_MON = "economy/nbs_national_monthly/"
_ENV = "environment/"
_ST = "environment/sichuan_station_hourly_2020-03/"

ENTRIES: tuple[DemoEntry, ...] = (
    _entry("201003/000001", "全国国内生产总值（1978—2014年）", "tjj", _NAT + "gdp.csv",
           "全国国内生产总值、国民总收入、三次产业增加值（亿元）和人均国内生产总值（元），1978—2014 年。"
           + NBS_NATIONAL,
           cycle="每年", category="经济运行/国民经济核算/国内生产总值", tags=("GDP", "全国", "统计")),
    _entry("201003/000002", "全国人口（1978—2014年）", "tjj", _NAT + "population.csv",
           "全国年末总人口、男女、城镇和乡村人口（万人），1978—2014 年。" + NBS_NATIONAL,
           cycle="每年", category="经济运行/人口/年末人口", tags=("人口", "全国", "统计")),
    _entry("201003/000003", "全国固定资产投资（1978—2014年）", "tjj", _NAT + "fixed_asset_investment.csv",
           "全社会和城镇固定资产投资（亿元），1980—2014 年。" + NBS_NATIONAL,
           cycle="每年", category="经济运行/固定资产投资/全社会", tags=("投资", "全国", "统计")),
    _entry("201003/000004", "全国社会消费品零售总额（1978—2014年）", "tjj", _NAT + "retail_sales.csv",
           "全国社会消费品零售总额（亿元），1978—2014 年。" + NBS_NATIONAL,
           cycle="每年", category="经济运行/消费/社会消费品零售", tags=("消费", "全国", "统计")),
    _entry("201003/000005", "全国价格指数（1978—2014年）", "tjj", _NAT + "price_indices.csv",
           "居民消费、商品零售、工业生产者和固定资产投资价格指数（上年=100），1978—2014 年。" + NBS_NATIONAL,
           cycle="每年", category="经济运行/价格/价格指数", tags=("价格", "CPI", "全国", "统计")),
    _entry("201003/000006", "全国居民消费价格分类指数和进出口（月度）", "tjj",
           _MON + "national_cpi_trade_2016-2020_gbk.csv",
           "全国居民消费价格指数及八大类分类指数（上年同月=100），进出口总值（千美元），2016 年 1 月—2020 年 2 月。"
           + NBS_NATIONAL, cycle="每月", category="经济运行/价格/居民消费价格指数", tags=("CPI", "进出口", "统计")),
    _entry("201003/000007", "全国货币供应量（月度）", "tjj", _MON + "national_money_supply_1999-2021_gbk.csv",
           "M2、M1、M0 期末值（亿元）及同比增长（%），1999 年 12 月—2021 年 5 月。" + NBS_NATIONAL,
           cycle="每月", category="经济运行/金融/货币供应量", tags=("货币", "M2", "金融", "统计")),
    _entry("204001/000001", "成都市 PM2.5 及气象小时数据（2010—2015年）", "sthj",
           _ENV + "chengdu_pm25_hourly_2010-2015_uci.csv",
           "成都草堂寺、沙河铺和美国领事馆三个监测点逐小时 PM2.5 浓度，以及露点、湿度、气压、气温、风速和降水，"
           "2010—2015 年（UCI 公开数据集，原样上传）。", cycle="实时", category="生态环境/大气环境/空气质量",
           tags=("PM2.5", "空气质量", "气象", "成都")),
    _entry("204001/000002", "成都市空气质量监测站小时数据（2020年3月）", "sthj", _ST + "5101_chengdu.csv",
           "成都市国控监测站逐小时 AQI、PM2.5、PM10、CO、NO2、O3、SO2，2020 年 3 月。", cycle="实时",
           category="生态环境/大气环境/监测站", tags=("空气质量", "AQI", "成都")),
    _entry("204001/000003", "绵阳市空气质量监测站小时数据（2020年3月）", "sthj", _ST + "5107_mianyang.csv",
           "绵阳市国控监测站逐小时 AQI、PM2.5、PM10、CO、NO2、O3、SO2，2020 年 3 月。", cycle="实时",
           category="生态环境/大气环境/监测站", tags=("空气质量", "AQI", "绵阳")),
    _entry("204001/000004", "宜宾市空气质量监测站小时数据（2020年3月）", "sthj", _ST + "5115_yibin.csv",
           "宜宾市国控监测站逐小时 AQI、PM2.5、PM10、CO、NO2、O3、SO2，2020 年 3 月。", cycle="实时",
           category="生态环境/大气环境/监测站", tags=("空气质量", "AQI", "宜宾")),
)

_CD_METEO = {"PM_Caotangsi": {"indicator": "PM2.5浓度", "unit": "µg/m³", "site": "草堂寺"},
             "PM_Shahepu": {"indicator": "PM2.5浓度", "unit": "µg/m³", "site": "沙河铺"},
             "PM_US Post": {"indicator": "PM2.5浓度", "unit": "µg/m³", "site": "美国领事馆"},
             "DEWP": {"indicator": "露点温度", "unit": "℃"}, "HUMI": {"indicator": "相对湿度", "unit": "%"},
             "PRES": {"indicator": "气压", "unit": "hPa"}, "TEMP": {"indicator": "气温", "unit": "℃"},
             "Iws": {"indicator": "累计风速", "unit": "m/s"},
             "precipitation": {"indicator": "小时降水量", "unit": "mm"}}
_STATION = {"AQI": {"indicator": "空气质量指数", "unit": ""}, "PM2.5": {"indicator": "PM2.5浓度", "unit": "µg/m³"},
            "PM10": {"indicator": "PM10浓度", "unit": "µg/m³"}, "NO2": {"indicator": "二氧化氮浓度", "unit": "µg/m³"},
            "O3_8h": {"indicator": "臭氧8小时浓度", "unit": "µg/m³"}}


def _station(region: str) -> dict[str, Any]:
    return {"kind": "table", "date": "Date", "hour": "Hour", "site": "WatchPoint", "region": region,
            "values": _STATION}


# resource code -> (layout, the bundled file its current version came from)
LAYOUTS: dict[str, tuple[dict[str, Any], str]] = {
    "201001/000001": ({"kind": "nbs"}, "economy/nbs_province_annual_gbk/gdp_100m_yuan.csv"),
    "201001/000002": ({"kind": "nbs"}, "economy/nbs_province_annual_gbk/population_sample_survey_persons.csv"),
    "201001/000003": ({"kind": "nbs"}, "economy/nbs_province_annual_gbk/urban_unit_employment_10k.csv"),
    "201002/000001": ({"kind": "nbs"}, "economy/nbs_province_monthly_cpi_2020q1_gbk/province_cpi_yoy_all.csv"),
    "201002/000002": ({"kind": "nbs", "region": "四川省"},
                      "economy/nbs_province_monthly_realestate_2017-2019/csv_utf8bom/四川.csv"),
    "201001/000004": ({"kind": "nbs"}, "economy/nbs_xls_exports/province_gdp_2015-2019.xls"),
    "201001/000005": ({"kind": "nbs", "region_level": "city"},
                      "economy/nbs_xls_exports/major_cities_gdp_2015-2019.xls"),
    "201003/000001": ({"kind": "nbs", "units": {"人均国内生产总值": "元", "国内生产总值": "亿元", "国民总收入": "亿元",
                                               "第一产业增加值": "亿元", "第二产业增加值": "亿元",
                                               "第三产业增加值": "亿元"}},
                      _NAT + "gdp.csv"),
    "201003/000002": ({"kind": "nbs", "units": {"乡村人口": "万人", "城镇人口": "万人", "女性人口": "万人",
                                               "年末总人口": "万人", "男性人口": "万人"}}, _NAT + "population.csv"),
    "201003/000003": ({"kind": "nbs", "units": {"全社会固定资产投资": "亿元", "城镇固定资产投资": "亿元"}},
                      _NAT + "fixed_asset_investment.csv"),
    "201003/000004": ({"kind": "nbs", "units": {"社会消费品零售总额": "亿元"}}, _NAT + "retail_sales.csv"),
    "201003/000005": ({"kind": "nbs"}, _NAT + "price_indices.csv"),
    "201003/000006": ({"kind": "nbs"}, _MON + "national_cpi_trade_2016-2020_gbk.csv"),
    "201003/000007": ({"kind": "nbs"}, _MON + "national_money_supply_1999-2021_gbk.csv"),
    "204001/000001": ({"kind": "table", "year": "year", "month": "month", "day": "day", "hour": "hour",
                       "region": "成都市", "values": _CD_METEO}, _ENV + "chengdu_pm25_hourly_2010-2015_uci.csv"),
    "204001/000002": (_station("510100"), _ST + "5101_chengdu.csv"),
    "204001/000003": (_station("510700"), _ST + "5107_mianyang.csv"),
    "204001/000004": (_station("511500"), _ST + "5115_yibin.csv"),
}


@dataclass(frozen=True)
class DemoIndicator:
    code: str
    name: str
    parent: str | None
    definition: dict[str, Any]
    unit: str | None = None
    frequency: str = "年"
    region_level: str = "省"
    owner: str = "tjj"
    publication: str = "open"
    name_en: str | None = None
    description: str | None = None


def _g(code: str, name: str, parent: str | None, owner: str = "tjj", en: str | None = None) -> DemoIndicator:
    return DemoIndicator(code, name, parent, {"kind": "group"}, owner=owner, name_en=en)


def _s(code: str, name: str, parent: str, resource: str, indicator: str, unit: str, freq: str = "年",
       level: str = "全国", **extra: Any) -> DemoIndicator:
    owner = extra.pop("owner", "tjj")
    publication = extra.pop("publication", "open")
    return DemoIndicator(code, name, parent, {"kind": "series", "resource": resource, "indicator": indicator, **extra},
                         unit=unit, frequency=freq, region_level=level, owner=owner, publication=publication)


def _f(code: str, name: str, parent: str, op: str, inputs: list[str], unit: str | None, freq: str = "年",
       level: str = "全国", **extra: Any) -> DemoIndicator:
    owner = extra.pop("owner", "tjj")
    publication = extra.pop("publication", "open")
    return DemoIndicator(code, name, parent, {"kind": "formula", "op": op, "inputs": inputs, **extra}, unit=unit,
                         frequency=freq, region_level=level, owner=owner, publication=publication)


def _unpivot(code: str, key: str = "地区") -> str:
    return (f'SELECT "{key}" AS region, period, value FROM (UNPIVOT "{code}" ON COLUMNS(* EXCLUDE ("{key}")) '
            "INTO NAME period VALUE value)")


def _sql(code: str, name: str, parent: str, sql: str, unit: str, freq: str = "年", level: str = "省",
         owner: str = "tjj", publication: str = "open") -> DemoIndicator:
    return DemoIndicator(code, name, parent, {"kind": "sql", "sql": sql}, unit=unit, frequency=freq,
                         region_level=level, owner=owner, publication=publication)


_STATION_SQL = " UNION ALL ".join(
    f"SELECT '{region}' AS region_code, substr(\"Date\", 1, 4) || '-' || substr(\"Date\", 5, 2) || '-' || "
    f"substr(\"Date\", 7, 2) AS period, avg(TRY_CAST(\"PM2.5\" AS DOUBLE)) AS value FROM \"{code}\" "
    "GROUP BY 1, 2" for region, code in (("510100", "204001/000002"), ("510700", "204001/000003"),
                                         ("511500", "204001/000004")))

NAT_GDP = "201003/000001"
INDICATORS: tuple[DemoIndicator, ...] = (
    _g("ECO", "经济运行", None, en="Economy"),
    _g("ECO.NA", "国民经济核算", "ECO", en="National accounts"),
    _sql("GDP.PROV", "地区生产总值", "ECO.NA", _unpivot("201001/000001"), "亿元"),
    _f("GDP.PROV.GROWTH", "地区生产总值名义增长率", "ECO.NA", "yoy", ["GDP.PROV"], "%", level="省"),
    _f("GDP.PROV.SHARE", "地区生产总值占各省合计比重", "ECO.NA", "share", ["GDP.PROV"], "%", level="省"),
    _f("GDP.PROV.RANK", "地区生产总值位次", "ECO.NA", "rank", ["GDP.PROV"], "位", level="省"),
    _s("GDP.PROV.2020", "地区生产总值（2020年发布）", "ECO.NA", "201001/000004", "地区生产总值", "亿元", level="省"),
    _s("GDP.CITY", "主要城市国内生产总值", "ECO.NA", "201001/000005", "国内生产总值", "亿元", level="市州",
       owner="cddata"),
    _s("GDP.NAT", "国内生产总值", "ECO.NA", NAT_GDP, "国内生产总值", "亿元"),
    _s("GDP.NAT.GNI", "国民总收入", "ECO.NA", NAT_GDP, "国民总收入", "亿元"),
    _s("GDP.NAT.PRIMARY", "第一产业增加值", "ECO.NA", NAT_GDP, "第一产业增加值", "亿元"),
    _s("GDP.NAT.SECONDARY", "第二产业增加值", "ECO.NA", NAT_GDP, "第二产业增加值", "亿元"),
    _s("GDP.NAT.TERTIARY", "第三产业增加值", "ECO.NA", NAT_GDP, "第三产业增加值", "亿元"),
    _f("GDP.NAT.TERTIARY.SHARE", "第三产业增加值占国内生产总值比重", "ECO.NA", "proportion",
       ["GDP.NAT.TERTIARY", "GDP.NAT"], "%"),
    _f("GDP.NAT.GROWTH", "国内生产总值名义增长率", "ECO.NA", "yoy", ["GDP.NAT"], "%"),
    _f("GDP.NAT.INDEX", "国内生产总值名义指数（1978=100）", "ECO.NA", "index", ["GDP.NAT"], "1978=100",
       base_period="1978"),
    _s("GDP.NAT.PC.PUBLISHED", "人均国内生产总值（公布值）", "ECO.NA", NAT_GDP, "人均国内生产总值", "元"),
    _f("GDP.NAT.PC", "人均国内生产总值（国内生产总值 / 年末总人口）", "ECO.NA", "per_capita", ["GDP.NAT", "POP.NAT"],
       "元", factor=10000),
    _g("ECO.POP", "人口与就业", "ECO", en="Population and employment"),
    _sql("POP.PROV.SAMPLE", "人口抽样调查人数", "ECO.POP", _unpivot("201001/000002"), "人"),
    _s("POP.NAT", "年末总人口", "ECO.POP", "201003/000002", "年末总人口", "万人"),
    _s("POP.NAT.URBAN", "城镇人口", "ECO.POP", "201003/000002", "城镇人口", "万人"),
    _f("POP.NAT.URBAN.RATE", "城镇化率", "ECO.POP", "proportion", ["POP.NAT.URBAN", "POP.NAT"], "%"),
    _s("EMP.PROV.URBAN", "城镇单位就业人员", "ECO.POP", "201001/000003", "城镇单位就业人员", "万人", level="省"),
    _f("EMP.PROV.URBAN.GROWTH", "城镇单位就业人员增长率", "ECO.POP", "yoy", ["EMP.PROV.URBAN"], "%", level="省"),
    _g("ECO.INV", "投资", "ECO", en="Investment"),
    _s("RE.INV.YTD", "房地产开发投资累计值", "ECO.INV", "201002/000002", "房地产投资累计值", "亿元", "月", "省"),
    _f("RE.INV.MONTH", "房地产开发投资当月值", "ECO.INV", "decumulate", ["RE.INV.YTD"], "亿元", "月", "省"),
    _s("RE.INV.YTD.GROWTH", "房地产开发投资累计增长", "ECO.INV", "201002/000002", "房地产投资累计增长", "%",
       "月", "省"),
    _s("RE.RESID.YTD", "住宅投资累计值", "ECO.INV", "201002/000002", "房地产住宅投资累计值", "亿元", "月", "省"),
    _f("RE.RESID.SHARE", "住宅投资占房地产开发投资比重", "ECO.INV", "proportion", ["RE.RESID.YTD", "RE.INV.YTD"],
       "%", "月", "省"),
    _s("FAI.NAT", "全社会固定资产投资", "ECO.INV", "201003/000003", "全社会固定资产投资", "亿元"),
    _f("FAI.NAT.GROWTH", "全社会固定资产投资名义增长率", "ECO.INV", "yoy", ["FAI.NAT"], "%"),
    _f("FAI.NAT.RATE", "投资率（全社会固定资产投资 / 国内生产总值）", "ECO.INV", "proportion",
       ["FAI.NAT", "GDP.NAT"], "%"),
    _g("ECO.PRICE", "价格", "ECO", en="Prices"),
    _sql("CPI.PROV", "居民消费价格指数（分省）", "ECO.PRICE", _unpivot("201002/000001"), "上年同月=100", "月"),
    _s("CPI.NAT", "居民消费价格指数", "ECO.PRICE", "201003/000006", "居民消费价格指数", "上年同月=100", "月"),
    _s("CPI.NAT.FOOD", "食品烟酒类居民消费价格指数", "ECO.PRICE", "201003/000006", "食品烟酒类居民消费价格指数",
       "上年同月=100", "月"),
    _s("CPI.NAT.CLOTHING", "衣着类居民消费价格指数", "ECO.PRICE", "201003/000006", "衣着类居民消费价格指数",
       "上年同月=100", "月"),
    _s("CPI.NAT.HOUSING", "居住类居民消费价格指数", "ECO.PRICE", "201003/000006", "居住类居民消费价格指数",
       "上年同月=100", "月"),
    _s("CPI.NAT.TRANSPORT", "交通和通信类居民消费价格指数", "ECO.PRICE", "201003/000006",
       "交通和通信类居民消费价格指数", "上年同月=100", "月"),
    _s("CPI.NAT.HEALTH", "医疗保健类居民消费价格指数", "ECO.PRICE", "201003/000006", "医疗保健类居民消费价格指数",
       "上年同月=100", "月"),
    _s("CPI.NAT.ANNUAL", "居民消费价格指数（年度，上年=100）", "ECO.PRICE", "201003/000005", "居民消费价格指数",
       "上年=100"),
    _s("PPI.NAT.ANNUAL", "工业生产者出厂价格指数（年度）", "ECO.PRICE", "201003/000005", "工业生产者出厂价格指数",
       "上年=100"),
    _g("ECO.MONEY", "货币金融", "ECO", en="Money and finance"),
    _s("M2", "货币和准货币（M2）供应量", "ECO.MONEY", "201003/000007", "货币和准货币(M2)供应量期末值", "亿元", "月"),
    _s("M1", "货币（M1）供应量", "ECO.MONEY", "201003/000007", "货币(M1)供应量期末值", "亿元", "月"),
    _s("M0", "流通中现金（M0）", "ECO.MONEY", "201003/000007", "流通中现金(M0)供应量期末值", "亿元", "月"),
    _s("M2.GROWTH.PUBLISHED", "M2 同比增长（公布值）", "ECO.MONEY", "201003/000007",
       "货币和准货币(M2)供应量同比增长", "%", "月"),
    _f("M2.GROWTH", "M2 同比增长（计算值）", "ECO.MONEY", "yoy", ["M2"], "%", "月"),
    _f("M1.M2", "M1 占 M2 比重", "ECO.MONEY", "proportion", ["M1", "M2"], "%", "月"),
    _g("ECO.TRADE", "消费与外贸", "ECO", en="Consumption and trade"),
    _s("RETAIL.NAT", "社会消费品零售总额", "ECO.TRADE", "201003/000004", "社会消费品零售总额", "亿元"),
    _f("RETAIL.NAT.GROWTH", "社会消费品零售总额名义增长率", "ECO.TRADE", "yoy", ["RETAIL.NAT"], "%"),
    _s("EXPORT.NAT", "出口总值（当月）", "ECO.TRADE", "201003/000006", "出口总值当期值", "千美元", "月"),
    _s("IMPORT.NAT", "进口总值（当月）", "ECO.TRADE", "201003/000006", "进口总值当期值", "千美元", "月"),
    _g("ENV", "生态环境", None, owner="sthj", en="Environment"),
    _g("ENV.AIR", "空气质量", "ENV", owner="sthj", en="Air quality"),
    _s("ENV.CD.PM25.MONTH", "成都 PM2.5 月均浓度（美国领事馆）", "ENV.AIR", "204001/000001", "PM2.5浓度", "µg/m³",
       "月", "站点", site="美国领事馆", resample="月", owner="sthj"),
    _s("ENV.CD.PM25.DAY", "成都 PM2.5 日均浓度（三个监测点）", "ENV.AIR", "204001/000001", "PM2.5浓度", "µg/m³",
       "日", "站点", resample="日", owner="sthj"),
    _f("ENV.CD.PM25.GROWTH", "成都 PM2.5 月均浓度同比", "ENV.AIR", "yoy", ["ENV.CD.PM25.MONTH"], "%", "月", "站点",
       owner="sthj"),
    _s("ENV.CD.TEMP.MONTH", "成都月平均气温", "ENV.AIR", "204001/000001", "气温", "℃", "月", "市州", resample="月",
       owner="sthj"),
    _s("ENV.CD.HUMI.MONTH", "成都月平均相对湿度", "ENV.AIR", "204001/000001", "相对湿度", "%", "月", "市州",
       resample="月", owner="sthj"),
    _s("ENV.CD.PRECIP.MONTH", "成都月降水量", "ENV.AIR", "204001/000001", "小时降水量", "mm", "月", "市州",
       resample="月", how="sum", owner="sthj"),
    _sql("ENV.CITY.PM25.DAY", "市州 PM2.5 日均浓度（监测站平均）", "ENV.AIR", _STATION_SQL, "µg/m³", "日", "市州",
         owner="sthj"),
    _s("ENV.CD.AQI.DAY", "成都监测站 AQI 日均值", "ENV.AIR", "204001/000002", "空气质量指数", "", "日", "站点",
       resample="日", owner="sthj", publication="share-conditional"),
    _s("ENV.MY.AQI.DAY", "绵阳监测站 AQI 日均值", "ENV.AIR", "204001/000003", "空气质量指数", "", "日", "站点",
       resample="日", owner="sthj", publication="internal"),
    _s("ENV.YB.AQI.DAY", "宜宾监测站 AQI 日均值", "ENV.AIR", "204001/000004", "空气质量指数", "", "日", "站点",
       resample="日", owner="sthj", publication="internal"),
)

# indicator code -> rules
RULES: tuple[tuple[str, RuleWrite], ...] = (
    ("CPI.PROV", RuleWrite(name="分省 CPI 高于 105", kind="level", params={"op": ">", "value": 105}, severity="警告")),
    ("RE.INV.YTD.GROWTH", RuleWrite(name="房地产开发投资累计负增长", kind="level", params={"op": "<", "value": 0},
                                    severity="严重")),
    ("GDP.PROV", RuleWrite(name="地区生产总值位次下降", kind="rank_move", params={"places": 1, "direction": "down"},
                           severity="提示")),
    ("M2", RuleWrite(name="M2 同比增速低于 8%", kind="change", params={"basis": "同比", "op": "<", "value": 8},
                     severity="提示")),
    ("M2", RuleWrite(name="M2 异常检测", kind="anomaly", params={"threshold": 3.5}, severity="警告")),
    ("ENV.CD.PM25.MONTH", RuleWrite(name="PM2.5 月均浓度异常", kind="anomaly", params={"threshold": 3.5},
                                    severity="警告")),
    ("ENV.CITY.PM25.DAY", RuleWrite(name="市州 PM2.5 日均超过 75（超二级标准）", kind="level",
                                    params={"op": ">", "value": 75}, severity="警告")),
)
SUBSCRIBER = "tjj_steward"


@dataclass
class AnalysisReport:
    created: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def applies(codes: set[str]) -> bool:
    """The indicator system needs the provincial NBS entries of the base demo."""
    return {"201001/000001", "201002/000001", "201002/000002"} <= codes


def _departments(session: Session) -> dict[str, int]:
    by_name = {d.name: d.id for d in session.scalars(select(Department))}
    return {d.key: by_name[d.name] for d in DEPARTMENTS if d.name in by_name}


def declare_layouts(rt: Runtime) -> list[str]:
    """Declare every layout of :data:`LAYOUTS`; a resource whose version predates its declaration gets
    the long form of that version from the bundled file it was ingested from."""
    done = []
    with rt.transaction() as s:
        for code, (layout, path) in LAYOUTS.items():
            try:
                res = find_resource(s, code)
            except NotFound:
                continue
            if store.layout_of(s, res.id) is None:
                declare_layout(s, SYSTEM, code, layout)
                done.append(code)
            v = latest_version(s, res.id)
            if v is not None and not store.long_path(rt.settings, res.id, v.version).is_file():
                file = bundled(path)
                store.reshape_version(s, rt.settings, res.id, v.version, file.read_bytes(), file.name)
    return done


def _ready(session: Session, ind: DemoIndicator) -> bool:
    needed = [*ind.definition.get("inputs", []), *([ind.parent] if ind.parent else [])]
    return all(session.scalar(select(AnalysisIndicator.id).where(AnalysisIndicator.code == c)) is not None
               for c in needed)


def install_indicators(session: Session) -> list[str]:
    depts = _departments(session)
    created: list[str] = []
    todo = [i for i in INDICATORS if session.scalar(
        select(AnalysisIndicator.id).where(AnalysisIndicator.code == i.code)) is None]
    while todo:  # parents and inputs first
        ready = [i for i in todo if _ready(session, i)]
        if not ready:
            raise RuntimeError(f"demo indicators wait for each other: {[i.code for i in todo]}")
        for ind in ready:
            create_indicator(session, SYSTEM, IndicatorWrite.model_validate({
                "code": ind.code, "name": ind.name, "name_en": ind.name_en, "unit": ind.unit,
                "frequency": ind.frequency, "region_level": ind.region_level, "parent": ind.parent,
                "definition": ind.definition, "description": ind.description,
                "owner_department_id": depts[ind.owner], "publication": ind.publication}))
            created.append(ind.code)
        todo = [i for i in todo if i not in ready]
    for code, rule in RULES:
        ind_id = session.scalar(select(AnalysisIndicator.id).where(AnalysisIndicator.code == code))
        if ind_id is None or session.scalar(select(AnalysisAlertRule.id).where(
                AnalysisAlertRule.indicator_id == ind_id, AnalysisAlertRule.name == rule.name)) is not None:
            continue
        create_rule(session, SYSTEM, code, rule)
    return created


def ensure_subscription(session: Session, settings: Any) -> bool:
    user = session.scalar(select(User).where(User.username == SUBSCRIBER))
    if user is None or session.scalar(select(AnalysisSubscription.id).where(
            AnalysisSubscription.user_id == user.id)) is not None:
        return False
    subscribe(session, settings, actor_for(user), SubscriptionWrite(channel="inapp"))
    return True


def load_analysis(rt: Runtime, entries: Sequence[DemoEntry],
                  ensure_entry: Callable[[Session, DemoEntry], bool],
                  ensure_data: Callable[[Runtime, DemoEntry], bool]) -> AnalysisReport:
    """Register and ingest :data:`ENTRIES`, declare the layouts, install the indicators, rules and the
    subscription, and compute every indicator once (the loader passes its entry helpers)."""
    report = AnalysisReport()
    if not applies({e.code for e in entries}):
        return report
    t0 = time.perf_counter()
    with rt.transaction() as s:
        for e in ENTRIES:
            if ensure_entry(s, e):
                report.created.append(f"目录 {e.code} {e.name}")
    declare_layouts(rt)  # before the new entries' data: their ingest writes the long forms
    for e in ENTRIES:
        ensure_data(rt, e)
    report.seconds["entries"] = round(time.perf_counter() - t0, 2)
    t1 = time.perf_counter()
    with rt.transaction() as s:
        created = install_indicators(s)
        report.created += [f"指标 {c}" for c in created]
        ensure_subscription(s, rt.settings)
    if created:
        with rt.transaction() as s:
            recompute.recompute(s, rt.settings, SYSTEM, trigger="demo")
    report.seconds["indicators"] = round(time.perf_counter() - t1, 2)
    return report


def demo_resource(session: Session, code: str) -> CatalogResource:
    return find_resource(session, code)


def bundled_path(code: str) -> Path:
    """The bundled file a demo resource's data came from (tests and the bench make new versions of it)."""
    return bundled(LAYOUTS[code][1])
