"""Catalog import and export (XLSX and CSV, in the layout of :mod:`shudata.catalog.io_layout`).

Import checks every row and reports each problem with sheet, row number, column and a
Chinese message. When any row is bad nothing is imported (``InvalidInput`` carrying the
report), unless ``skip_invalid`` is set: then the bad resources are skipped and the rest
imported. Rows with an existing 资源代码 update that entry (a new catalog version); other
rows register new entries.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog import actions as A
from shudata.catalog import visibility
from shudata.catalog.io_layout import (
    HEADER_OF,
    ITEM_COLUMNS,
    ITEM_SHEET,
    RESOURCE_COLUMNS,
    RESOURCE_SHEET,
    Block,
    Row,
    parse_sharing_type,
    read_csv,
    read_xlsx,
)
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import (
    SHARING_LABELS,
    ImportReport,
    InformationItem,
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
    RowError,
)
from shudata.catalog.service import register_resource, to_reads, update_resource
from shudata.catalog.xlsx import workbook_bytes
from shudata.core.errors import InvalidInput, NotFound, ShudataError
from shudata.core.textsafe import safe_cell
from shudata.core.types import Actor
from shudata.security.authz import require
from shudata.security.service import find_department

SPLIT_RE = re.compile(r"[,，;；、\s]+")
NESTED = {("sharing", "type"): "sharing_type", ("sharing", "condition"): "sharing_condition",
          ("sharing", "method"): "sharing_method", ("sharing",): "sharing_condition",
          ("open", "type"): "open_type", ("open", "condition"): "open_condition", ("open",): "open_condition"}


class RowProblem(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors[0].message if errors else "")
        self.errors = errors


def _message(err: Any) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        return "必填"
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length", 1) <= 1 else f"太短（至少 {ctx['min_length']} 个字）"
    if kind == "string_too_long":
        return f"太长（最多 {ctx.get('max_length')} 个字）"
    if kind == "enum":
        return f"取值无效，可选：{ctx.get('expected', '')}"
    if kind in {"int_parsing", "int_type", "greater_than_equal", "less_than_equal"}:
        return "应为正整数"
    if kind.startswith("date"):
        return "日期格式应为 YYYY-MM-DD"
    if kind == "string_pattern_mismatch":
        return "格式不对（分类代码为 6 到 12 位数字，如 302001）"
    return str(err.get("msg", "")).removeprefix("Value error, ")


def _errors(exc: ValidationError, row: Row, items: list[Row]) -> list[RowError]:
    out = []
    for err in exc.errors():
        loc = tuple(str(x) for x in err.get("loc", ()))
        target, key = row, NESTED.get(loc[:2]) or NESTED.get(loc[:1]) or loc[0] if loc else None
        if loc and loc[0] == "information_items":
            key = "item_name"
            if len(loc) > 1 and loc[1].isdigit() and int(loc[1]) < len(items):
                target = items[int(loc[1])]
            elif items:
                target = items[0]
        column = HEADER_OF.get(key or "", key)
        out.append(RowError(sheet=target.sheet, row=target.number, column=column, message=_message(err)))
    return out


def _item(row: Row) -> dict[str, Any]:
    c = row.cells
    data: dict[str, Any] = {"name": c.get("item_name", ""), "data_type": (c.get("item_type") or "C").upper()}
    if c.get("item_length"):
        data["length"] = c["item_length"].removesuffix(".0")
    if c.get("item_description"):
        data["description"] = c["item_description"]
    try:
        return InformationItem.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        fields = {"name": "item_name", "data_type": "item_type", "length": "item_length",
                  "description": "item_description"}
        raise RowProblem([RowError(sheet=row.sheet, row=row.number,
                                   column=HEADER_OF[fields.get(str(e["loc"][0]), "item_name")],
                                   message=_message(e)) for e in exc.errors()]) from exc


def _provider(session: Session, actor: Actor, row: Row, default: int | None) -> int:
    for key in ("provider_code", "provider"):
        if value := row.cells.get(key):
            try:
                return find_department(session, value).id
            except NotFound as exc:
                raise RowProblem([RowError(sheet=row.sheet, row=row.number, column=HEADER_OF[key],
                                           message=f"部门“{value}”不存在")]) from exc
    if default is not None:
        return default
    if actor.department_id is None:
        raise RowProblem([RowError(sheet=row.sheet, row=row.number, column="提供方", message="必填")])
    return actor.department_id


def _payload(block: Block, provider_id: int) -> dict[str, Any]:
    c = block.row.cells
    data: dict[str, Any] = {k: v for k, v in c.items() if v and k in {
        "name", "alias", "classification", "category_code", "category_path", "abstract", "format_category",
        "format_type", "update_cycle", "publish_date", "base_registry"}}
    sharing = parse_sharing_type(c.get("sharing_type", ""))
    if sharing is None:
        raise RowProblem([RowError(sheet=block.row.sheet, row=block.row.number, column="共享类型",
                                   message="应为 1 无条件共享 / 2 有条件共享 / 3 不予共享")])
    data["sharing"] = {"type": sharing, "condition": c.get("sharing_condition") or None,
                       "method": c.get("sharing_method") or "接口"}
    data["open"] = {"type": c.get("open_type") or "不予开放", "condition": c.get("open_condition") or None}
    data["related_codes"] = [x for x in SPLIT_RE.split(c.get("related_codes", "")) if x]
    data["tags"] = [x for x in SPLIT_RE.split(c.get("tags", "")) if x]
    data["provider_department_id"] = provider_id
    if c.get("code"):
        data["code"] = c["code"]
    return data


def _import_block(session: Session, actor: Actor, block: Block, default_dept: int | None) -> tuple[str, str]:
    if block.row.cells.get("_orphan"):
        raise RowProblem([RowError(sheet=ITEM_SHEET, row=block.items[0].number, column="资源代码",
                                   message=f"“{RESOURCE_SHEET}”表中没有这个资源")])
    problems: list[RowError] = []
    items = []
    for row in block.items:
        try:
            items.append(_item(row))
        except RowProblem as p:
            problems.extend(p.errors)
    data = _payload(block, _provider(session, actor, block.row, default_dept))
    data["information_items"] = items
    try:
        create = ResourceCreate.model_validate(data)
    except ValidationError as exc:
        problems.extend(_errors(exc, block.row, block.items))
    if problems:
        raise RowProblem(problems)
    existing = session.scalar(select(CatalogResource).where(CatalogResource.code == create.code)) \
        if create.code else None
    if existing is not None and not existing.is_deleted:
        fields = create.model_dump(exclude={"code", "category_code", "provider_department_id"})
        before = existing.revision
        after = update_resource(session=session, actor=actor, code=existing.code,
                                data=ResourceUpdate.model_validate({**fields, "comment": "批量导入更新"}))
        return ("updated" if after.revision != before else "unchanged"), existing.code
    return "created", register_resource(session=session, actor=actor, data=create, comment="批量导入").code


def _blocks(content: bytes, filename: str) -> list[Block]:
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm")) or content.startswith(b"PK\x03\x04")
    blocks = read_xlsx(content) if is_xlsx else read_csv(content)
    if not blocks:
        raise InvalidInput("文件中没有资源行（只有表头或为空）", "The file has no resource rows", code="empty_file")
    return blocks


def import_catalog(*, session: Session, actor: Actor, content: bytes, filename: str,
                   skip_invalid: bool = False, department: str | None = None) -> ImportReport:
    """Import a filled-in catalog file; all-or-nothing unless ``skip_invalid``."""
    require(actor, A.RESOURCE_CREATE)
    default_dept = find_department(session, department).id if department else None
    report = ImportReport()
    outer = session.begin_nested()
    for block in _blocks(content, filename):
        try:
            with session.begin_nested():
                kind, code = _import_block(session, actor, block, default_dept)
            {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}[kind].append(code)
        except RowProblem as p:
            report.errors.extend(p.errors)
            report.skipped_rows += 1
        except ShudataError as exc:
            report.errors.append(RowError(sheet=block.row.sheet, row=block.row.number, column=None, message=exc.zh))
            report.skipped_rows += 1
    if report.errors and not skip_invalid:
        outer.rollback()
        first = report.errors[0]
        raise InvalidInput(
            f"导入失败，未导入任何条目：共 {len(report.errors)} 处错误，首个在“{first.sheet}”第 {first.row} 行"
            f"{('“' + first.column + '”列') if first.column else ''}：{first.message}",
            f"Import refused, nothing imported: {len(report.errors)} problems, first at {first.sheet} row "
            f"{first.row}", code="import_invalid",
            details={"errors": [e.model_dump() for e in report.errors]})
    outer.commit()
    record(session, actor, events.CatalogImport(resource_id=filename[:200],
                                                details={"created": len(report.created), "updated": len(report.updated),
                                                         "unchanged": len(report.unchanged),
                                                         "skipped": report.skipped_rows}))
    return report


# -- export ----------------------------------------------------------------------------------

def _resource_cells(r: ResourceRead) -> list[Any]:
    values = {
        "code": r.code, "name": r.name, "alias": r.alias or "", "classification": r.classification.value,
        "category_code": r.code.split("/")[0], "category_path": r.category_path or "", "provider": r.provider_name,
        "provider_code": r.provider_code, "abstract": r.abstract, "format_category": r.format_category.value,
        "format_type": r.format_type, "sharing_type": f"{int(r.sharing.type)} {SHARING_LABELS[int(r.sharing.type)][0]}",
        "sharing_condition": r.sharing.condition or "", "sharing_method": r.sharing.method.value,
        "open_type": r.open.type.value, "open_condition": r.open.condition or "", "update_cycle": r.update_cycle.value,
        "publish_date": r.publish_date.isoformat() if r.publish_date else "",
        "related_codes": "、".join(r.related_codes), "base_registry": r.base_registry or "", "tags": "、".join(r.tags),
    }
    return [values[k] for k in RESOURCE_COLUMNS.values()]


def _item_cells(item: InformationItem) -> list[Any]:
    return [item.name, item.data_type.value, item.length if item.length is not None else "", item.description or ""]


def export_catalog(*, session: Session, actor: Actor, fmt: str = "xlsx", department_id: int | None = None) -> bytes:
    """The catalog (or one department's part) in the import layout: XLSX or CSV (UTF-8 with BOM)."""
    require(actor, A.RESOURCE_VIEW)
    stmt = select(CatalogResource).where(CatalogResource.is_deleted.is_(False)).order_by(CatalogResource.code)
    if department_id is not None:
        stmt = stmt.where(CatalogResource.provider_department_id == department_id)
    reads = to_reads(session, visibility.only_visible(session, actor, session.scalars(stmt).all()))
    record(session, actor, events.CatalogExport(details={
        "format": fmt, "entries": len(reads), "department_id": department_id}))
    if fmt == "csv":
        return _csv(reads)
    if fmt != "xlsx":
        raise InvalidInput("导出格式应为 xlsx 或 csv", "Format must be xlsx or csv", code="unsupported_format")
    items = [[r.code, r.name, *_item_cells(i)] for r in reads for i in r.information_items]
    return workbook_bytes([(RESOURCE_SHEET, list(RESOURCE_COLUMNS), [_resource_cells(r) for r in reads]),
                           (ITEM_SHEET, ["资源代码", "资源名称", *ITEM_COLUMNS], items)])


def _csv(reads: list[ResourceRead]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*RESOURCE_COLUMNS, *ITEM_COLUMNS])
    for r in reads:
        cells = _resource_cells(r)
        for item in r.information_items or [None]:  # type: ignore[list-item]
            row = cells + (_item_cells(item) if item else ["", "", "", ""])
            writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
