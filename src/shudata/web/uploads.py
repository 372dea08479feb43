"""Stream a ``multipart/form-data`` upload straight to a temporary file.

The file part is written as it arrives (never held in memory), hashed with SHA-256 and
cut off with 413 once it passes ``max_bytes``; small text fields are collected. The
uploaded file name is kept only as a label: it is checked for path tricks, control
characters and length (255 characters) and never used as a path. A body that is not
well-formed multipart (a broken boundary, part headers over 16 KiB, more than 100 parts)
is a 400, never a 500. What the file may contain (columns, cells, unpacked size …) is
checked by the readers, against :class:`shudata.lake.ingest.limits.ReadLimits`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from shudata.core.errors import BadRequest, InvalidInput, PayloadTooLarge

FIELD_MAX = 10_000
FILENAME_MAX = 255  # characters, as the version's source_name column holds
HEADER_MAX = 16 << 10  # bytes of one part's headers (a 255-character Chinese name is ~800 bytes)
PARTS_MAX = 100


@dataclass
class Upload:
    """A received upload: the temp file, its original name, size, SHA-256 and the text fields."""

    path: Path | None = None
    filename: str | None = None
    size: int = 0
    sha256: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def cleanup(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def check_filename(name: str) -> str:
    """Refuse names that try to be paths, hold control characters or are too long.

    >>> check_filename("四川省GDP.csv")
    '四川省GDP.csv'
    >>> check_filename("../../x.csv")
    Traceback (most recent call last):
    shudata.core.errors.InvalidInput: 文件名“../../x.csv”含有路径或非法字符；请只提供文件名
    >>> check_filename("a" * 5000)
    Traceback (most recent call last):
    shudata.core.errors.InvalidInput: 文件名有 5000 个字符，超过上限 255；请改短文件名后上传
    """
    if len(name) > FILENAME_MAX:
        raise InvalidInput(f"文件名有 {len(name)} 个字符，超过上限 {FILENAME_MAX}；请改短文件名后上传",
                           f"The file name has {len(name)} characters, more than {FILENAME_MAX}; shorten it",
                           code="filename_too_long", details={"limit": FILENAME_MAX, "found": len(name)})
    control = any(unicodedata.category(c) == "Cc" for c in name)
    bad = "/" in name or "\\" in name or control or name.strip() in ("", ".", "..") or name.startswith("..")
    if bad:
        shown = "".join(c if unicodedata.category(c) != "Cc" else "?" for c in name[:80])
        raise InvalidInput(f"文件名“{shown}”含有路径或非法字符；请只提供文件名",
                           f"The file name {shown!r} contains a path or illegal characters; send only a name",
                           code="bad_filename")
    return name.strip()


class _Receiver:
    def __init__(self, tmp_dir: Path, max_bytes: int) -> None:
        self.tmp_dir = tmp_dir
        self.max_bytes = max_bytes
        self.upload = Upload()
        self.headers: dict[str, bytes] = {}
        self._field = b""
        self._value = b""
        self._name: str | None = None
        self._is_file = False
        self._text = bytearray()
        self._fh: IO[bytes] | None = None
        self._hash = hashlib.sha256()
        self._parts = 0
        self._header_bytes = 0

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end}

    def part_begin(self) -> None:
        self.headers, self._name, self._is_file, self._text = {}, None, False, bytearray()
        self._parts += 1
        self._header_bytes = 0
        if self._parts > PARTS_MAX:
            raise BadRequest(f"表单有超过 {PARTS_MAX} 个部分", f"The form has more than {PARTS_MAX} parts",
                             code="too_many_parts")

    def _count_header(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > HEADER_MAX:
            raise BadRequest(f"表单某部分的头部超过 {HEADER_MAX // 1024} KiB；请检查文件名和字段名",
                             f"A form part's headers exceed {HEADER_MAX // 1024} KiB; check the file and field names",
                             code="part_headers_too_large")

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._value += data[start:end]

    def header_end(self) -> None:
        self.headers[self._field.decode("latin-1").lower()] = self._value
        self._field, self._value = b"", b""

    def headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get("content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in params and self._name == "file":
            if self.upload.path is not None:
                raise BadRequest("一次只能上传一个文件", "Upload one file at a time", code="one_file_only")
            self.upload.filename = check_filename(params[b"filename"].decode("utf-8", "replace"))
            self._is_file = True
            fd, name = tempfile.mkstemp(prefix="upload-", dir=self.tmp_dir)
            self.upload.path = Path(name)
            self._fh = os.fdopen(fd, "wb")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file and self._fh is not None:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_bytes:
                mb = self.max_bytes // (1024 * 1024)
                raise PayloadTooLarge(f"文件超过大小上限 {mb} MB；请拆分文件或联系管理员调整 SHUDATA_MAX_UPLOAD_MB",
                                      f"The file exceeds the {mb} MB limit; split it or ask the operator to raise "
                                      "SHUDATA_MAX_UPLOAD_MB", code="payload_too_large")
            self._hash.update(chunk)
            self._fh.write(chunk)
        else:
            self._text += chunk
            if len(self._text) > FIELD_MAX:
                raise InvalidInput("表单字段过长", "A form field is too long", code="field_too_long")

    def part_end(self) -> None:
        if self._is_file and self._fh is not None:
            self._fh.close()
            self._fh = None
            self.upload.sha256 = self._hash.hexdigest()
        elif self._name:
            self.upload.fields[self._name] = self._text.decode("utf-8", "replace")

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self.upload.cleanup()


async def receive_upload(request: Request, tmp_dir: Path, max_bytes: int) -> Upload:
    """Parse the request body as multipart, streaming the ``file`` part to ``tmp_dir``."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest("请以 multipart/form-data 上传，文件字段名为 file",
                         "Send multipart/form-data with the file in the field named file", code="not_multipart")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    recv = _Receiver(tmp_dir, max_bytes)
    parser = MultipartParser(params[b"boundary"], recv.callbacks(),  # type: ignore[arg-type]
                             max_header_size=HEADER_MAX + 1024)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if recv.upload.path is not None and recv.upload.sha256 == "":
            raise FormParserError("the file part does not end")
    except FormParserError as exc:
        recv.abort()
        raise BadRequest("请求体不是完整的 multipart/form-data（边界或部分头部有误）；请用浏览器或 curl -F 重新上传",
                         "The body is not well-formed multipart/form-data (boundary or part headers); upload "
                         "again with a browser or curl -F", code="malformed_multipart") from exc
    except BaseException:
        recv.abort()
        raise
    if recv.upload.path is None:
        raise BadRequest("请求中没有文件（字段名应为 file）", "No file in the request (field name: file)",
                         code="no_file")
    return recv.upload
