"""What every reader returns when it inspects a file, and the options an uploader sets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shudata.core.errors import InvalidInput
from shudata.lake.ingest.missing import token_set

Cell = str | None
Progress = Callable[[int, int], None]  # (done, total) in bytes


class IngestOptions(BaseModel):
    """Choices of the uploader; ``None`` means "guess"."""

    model_config = ConfigDict(frozen=True)

    header_row: int | None = Field(None, ge=1, le=10_000, description="表头所在行（从 1 开始）；留空自动识别")
    sheet: str | None = Field(None, max_length=120, description="工作表名称（XLS/XLSX）；留空取第一个非空工作表")
    skip_footer: int | None = Field(None, ge=0, le=10_000, description="跳过末尾的注释行数；留空自动识别")
    encoding: str | None = Field(None, max_length=20, description="文本编码 UTF-8/GBK/GB18030；留空自动识别")
    skip_sections: bool = Field(True, description="跳过表中只有第一格有内容的分节行（如“四川省（109所）”）")
    comment: str | None = Field(None, max_length=500, description="版本说明")
    missing_values: tuple[str, ...] | None = Field(
        None, max_length=200,
        description="读作缺失值（NULL）的占位符，如 N/A、无、-；留空用本条目保存的列表或系统默认；"
                    "空列表表示只有空白单元格算缺失")

    def missing_tokens(self) -> frozenset[str] | None:
        """The placeholders as compared (trimmed, NFKC, case-folded); ``None`` when not set: the
        readers then leave values as they are (the ingest job and the preview set the entry's
        list or the setting's; other callers, such as the profile, choose)."""
        return None if self.missing_values is None else token_set(self.missing_values)


@dataclass
class SourceInfo:
    """A file as understood before writing: format, encoding, where the table is, a sample."""

    path: Path
    name: str
    format: str
    columns: list[str]
    head_rows: list[list[Cell]]  # the first raw rows, titles included (for the preview)
    sample: list[list[Cell]]  # data rows (sections and footers removed) for type checks
    header_row: int | None = None  # 1-based, as shown to people
    footer_rows: int = 0
    encoding: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    delimiter: str = ","
    data_offset: int = 0  # CSV: byte offset of the first data row
    data_line: int = 1  # CSV: line number of the first data row
    size: int = 0
    typed_sample: bool = False  # sample values come from a typed source (Parquet)
    rows: list[list[Cell]] | None = field(default=None, repr=False)  # XLS/XLSX/JSON: data rows, read once


@dataclass
class StageStats:
    """What a reader wrote into the staging directory."""

    rows: int = 0
    skipped_rows: int = 0  # section rows dropped
    footer_rows: int = 0
    files: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # stored column → placeholders read as NULL

    def add_missing(self, counts: dict[str, int]) -> None:
        for k, n in counts.items():
            if n:
                self.missing[k] = self.missing.get(k, 0) + n


def empty_file(name: str) -> InvalidInput:
    return InvalidInput(f"文件“{name}”是空的；请上传含表头和数据行的文件",
                        f"The file {name!r} is empty; upload a file with a header and data rows", code="empty_file")


def no_data(name: str) -> InvalidInput:
    return InvalidInput(f"文件“{name}”只有表头，没有数据行；请检查表头行或末尾注释行的设置",
                        f"The file {name!r} has a header but no data rows; check the header-row and footer settings",
                        code="no_data_rows")
