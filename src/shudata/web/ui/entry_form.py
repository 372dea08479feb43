"""The register/edit form of a catalog entry: form fields <-> ``ResourceCreate``/``ResourceUpdate``.

The form posts one value per simple field and parallel lists for the information items
(``item_name``, ``item_type``, ``item_length``, ``item_description``).

>>> f = {"name": ["企业信用信息"], "item_name": ["统一社会信用代码", "", "企业名称"],
...      "item_type": ["C", "C", "C"], "item_length": ["18", "", ""], "item_description": ["", "", ""],
...      "related_codes": ["101001/000001， 101001/000002"]}
>>> values = form_values(f)
>>> [i["name"] for i in values["information_items"]], values["related_codes"]
(['统一社会信用代码', '企业名称'], ['101001/000001', '101001/000002'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request

from shudata.catalog.schemas import ResourceCreate, ResourceRead, ResourceUpdate
from shudata.core.ids import parse_id

FormLists = Mapping[str, Sequence[str]]
SIMPLE = ("name", "alias", "classification", "category_code", "category_path", "abstract", "format_category",
          "format_type", "update_cycle", "publish_date", "base_registry", "sharing_type", "sharing_condition",
          "sharing_method", "open_type", "open_condition", "provider_department_id", "code", "comment")
_SPLIT = re.compile(r"[\s,，;；、]+")


async def read_form(request: Request) -> dict[str, list[str]]:
    """Every form field as a list of strings (files are ignored)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


FormDep = Annotated[dict[str, list[str]], Depends(read_form)]


def _one(form: FormLists, key: str) -> str:
    vals = form.get(key) or [""]
    return vals[0].strip()


def _split(text: str) -> list[str]:
    return [p for p in _SPLIT.split(text) if p]


def _items(form: FormLists) -> list[dict[str, Any]]:
    names = list(form.get("item_name") or [])
    cols = {k: list(form.get(f"item_{k}") or []) for k in ("type", "length", "description", "datum")}
    items = []
    for i, name in enumerate(names):
        if not name.strip():
            continue
        cell = {k: (vals[i].strip() if i < len(vals) else "") for k, vals in cols.items()}
        length = cell["length"]
        items.append({"name": name.strip(), "data_type": cell["type"] or "C",
                      "length": n if (n := parse_id(length)) is not None else (length or None),
                      "description": cell["description"] or None,
                      **({"datum": cell["datum"]} if cell["datum"] else {})})
    return items


def form_values(form: FormLists) -> dict[str, Any]:
    """The submitted form as a flat dict the template can re-render (and the schemas read)."""
    values: dict[str, Any] = {k: _one(form, k) for k in SIMPLE}
    values["information_items"] = _items(form)
    values["related_codes"] = _split(_one(form, "related_codes"))
    values["tags"] = _split(_one(form, "tags"))
    return values


def _payload(values: Mapping[str, Any]) -> dict[str, Any]:
    sharing = {"type": values["sharing_type"] or "1", "condition": values["sharing_condition"] or None,
               "method": values["sharing_method"] or "接口"}
    opened = {"type": values["open_type"] or "不予开放", "condition": values["open_condition"] or None}
    data: dict[str, Any] = {
        "name": values["name"], "alias": values["alias"] or None, "abstract": values["abstract"],
        "category_path": values["category_path"] or None, "format_type": values["format_type"] or "csv",
        "information_items": values["information_items"], "sharing": sharing, "open": opened,
        "publish_date": values["publish_date"] or None, "related_codes": values["related_codes"],
        "tags": values["tags"],
    }
    for key in ("classification", "format_category", "update_cycle"):
        if values[key]:
            data[key] = values[key]
    return data


def to_create(values: Mapping[str, Any]) -> ResourceCreate:
    """Raises ``pydantic.ValidationError`` with the reasons when the form is incomplete."""
    data = _payload(values)
    data["code"] = values["code"] or None
    data["category_code"] = values["category_code"] or None
    data["base_registry"] = values["base_registry"] or None
    provider = values["provider_department_id"]
    data["provider_department_id"] = parse_id(str(provider))
    return ResourceCreate.model_validate(data)


def to_update(values: Mapping[str, Any]) -> ResourceUpdate:
    data = _payload(values)
    data["comment"] = values["comment"] or None
    return ResourceUpdate.model_validate(data)


def from_resource(res: ResourceRead) -> dict[str, Any]:
    """Form values of an existing entry (the edit form starts from these)."""
    d = res.model_dump(mode="json")
    values: dict[str, Any] = {k: d.get(k) or "" for k in SIMPLE}
    values.update(sharing_type=str(d["sharing"]["type"]), sharing_condition=d["sharing"].get("condition") or "",
                  sharing_method=d["sharing"]["method"], open_type=d["open"]["type"],
                  open_condition=d["open"].get("condition") or "", information_items=d["information_items"],
                  related_codes=d["related_codes"], tags=d["tags"],
                  provider_department_id=str(d["provider_department_id"]), comment="")
    return values


def empty_values() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(SIMPLE, "")
    values.update(classification="部门", format_category="数据库", format_type="csv", update_cycle="每月",
                  sharing_type="1", sharing_method="接口", open_type="不予开放", information_items=[],
                  related_codes=[], tags=[])
    return values
