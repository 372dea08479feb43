"""The four base registries (基础信息资源库) as predefined templates with standard items.

人口, 法人, 自然资源和地理空间, 社会信用: each template fixes the category code (基础类 1,
项 01–04), the classification 基础 and the standard information items; a steward creates
an entry from it and may add items of their own.

>>> [t.key for t in list_templates()]
['人口', '法人', '自然资源和地理空间', '社会信用']
>>> get_template("法人").information_items[0].name
'统一社会信用代码'
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shudata.catalog.schemas import (
    Classification,
    InformationItem,
    ResourceCreate,
    ResourceRead,
    SharingAttributes,
    TemplateRead,
    UpdateCycle,
)
from shudata.catalog.service import register_resource
from shudata.core.errors import NotFound
from shudata.core.types import Actor

Item = tuple[str, str, int | None, str]

_TEMPLATES: dict[str, dict[str, Any]] = {
    "人口": {
        "name": "人口基础信息", "category_code": "101001", "category_path": "基础信息资源/人口/人口基础信息",
        "abstract": "人口基础信息库：公民身份号码、姓名、性别、民族、出生日期、户籍地址等人口基本信息。",
        "items": [
            ("公民身份号码", "C", 18, "GB 11643 公民身份号码，含校验码"), ("姓名", "C", 50, ""),
            ("性别", "C", 1, "GB/T 2261.1：1 男 2 女"), ("民族", "C", 2, "GB/T 3304 民族代码"),
            ("出生日期", "D", None, ""), ("出生地", "C", 200, ""), ("户籍地址", "C", 200, ""),
            ("行政区划代码", "C", 6, "GB/T 2260"), ("婚姻状况", "C", 2, "GB/T 2261.2"),
            ("文化程度", "C", 2, "GB/T 4658"), ("联系电话", "C", 20, ""), ("死亡日期", "D", None, ""),
        ],
    },
    "法人": {
        "name": "法人单位基础信息", "category_code": "102001", "category_path": "基础信息资源/法人/法人单位基础信息",
        "abstract": "法人单位基础信息库：统一社会信用代码、机构名称、法定代表人、成立日期、注册资本、登记机关等。",
        "items": [
            ("统一社会信用代码", "C", 18, "GB 32100，含校验码"), ("机构名称", "C", 200, ""),
            ("机构类型", "C", 50, "企业/机关/事业单位/社会组织"), ("法定代表人", "C", 50, ""),
            ("成立日期", "D", None, ""), ("注册资本", "Y", None, "万元"), ("登记机关", "C", 200, ""),
            ("经营范围", "M", None, ""), ("登记状态", "C", 20, "存续/注销/吊销"), ("住所", "C", 200, ""),
            ("行政区划代码", "C", 6, "GB/T 2260"),
        ],
    },
    "自然资源和地理空间": {
        "name": "自然资源和地理空间基础信息", "category_code": "103001",
        "category_path": "基础信息资源/自然资源和地理空间/基础地理信息",
        "abstract": "自然资源和地理空间基础信息库：行政区划、地名、坐标、面积、土地利用等空间基础信息。",
        "items": [
            ("行政区划代码", "C", 6, "GB/T 2260"), ("名称", "C", 100, ""), ("类型", "C", 50, "行政区/地名/地块"),
            ("经度", "F", None, "CGCS2000，度"), ("纬度", "F", None, "CGCS2000，度"), ("面积", "F", None, "平方千米"),
            ("土地利用类型", "C", 50, "GB/T 21010"), ("高程", "F", None, "米"), ("空间范围", "G", None, "WKT"),
        ],
    },
    "社会信用": {
        "name": "社会信用基础信息", "category_code": "104001", "category_path": "基础信息资源/社会信用/信用信息",
        "abstract": "社会信用基础信息库：行政许可、行政处罚、红名单、黑名单等信用信息（双公示）。",
        "items": [
            ("统一社会信用代码", "C", 18, "GB 32100"), ("主体名称", "C", 200, ""),
            ("信用类型", "C", 10, "行政许可/行政处罚/红名单/黑名单"), ("决定文书号", "C", 100, ""),
            ("内容", "M", None, ""), ("决定日期", "D", None, ""), ("有效期至", "D", None, ""),
            ("决定机关", "C", 200, ""), ("决定机关统一社会信用代码", "C", 18, ""), ("数据来源", "C", 100, ""),
        ],
    },
}


def _read(key: str, spec: dict[str, Any]) -> TemplateRead:
    items = [InformationItem(name=n, data_type=t, length=ln, description=d or None)
             for n, t, ln, d in spec["items"]]
    return TemplateRead(key=key, name=spec["name"], category_code=spec["category_code"],
                        category_path=spec["category_path"], abstract=spec["abstract"], information_items=items)


def list_templates() -> list[TemplateRead]:
    """The four base-registry templates."""
    return [_read(k, v) for k, v in _TEMPLATES.items()]


def get_template(key: str) -> TemplateRead:
    spec = _TEMPLATES.get(key.strip())
    if spec is None:
        raise NotFound(f"没有基础库模板“{key}”，可选：{'、'.join(_TEMPLATES)}",
                       f"No base-registry template {key!r}; choose one of {', '.join(_TEMPLATES)}",
                       code="template_not_found")
    return _read(key.strip(), spec)


def template_create(key: str, *, name: str | None = None, sharing: SharingAttributes | None = None,
                    extra_items: list[InformationItem] | None = None, **fields: Any) -> ResourceCreate:
    """A :class:`ResourceCreate` filled from a template (name, items and other fields overridable)."""
    tpl = get_template(key)
    return ResourceCreate.model_validate({
        "name": name or tpl.name, "abstract": tpl.abstract, "classification": Classification.BASE,
        "category_code": tpl.category_code, "category_path": tpl.category_path, "base_registry": tpl.key,
        "information_items": [*tpl.information_items, *(extra_items or [])],
        "sharing": sharing or SharingAttributes(type=2, condition="用于政务服务和监管，按需申请"),
        "update_cycle": UpdateCycle.DAILY, **fields,
    })


def create_from_template(*, session: Session, actor: Actor, key: str, name: str | None = None,
                         provider_department_id: int | None = None, **fields: Any) -> ResourceRead:
    """Register a base-registry entry from its template."""
    data = template_create(key, name=name, provider_department_id=provider_department_id, **fields)
    return register_resource(session=session, actor=actor, data=data, comment=f"由基础库模板“{key}”创建")
