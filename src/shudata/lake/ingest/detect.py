"""Recognise how an uploaded text file is encoded (UTF-8, UTF-8 with BOM, GBK, GB18030),
verified by strict decoding of windows spread over the whole file so mixed encodings are
caught. The file *format* is recognised by the format registry
(:func:`shudata.lake.ingest.formats.sniff_format`).
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from shudata.core.errors import InvalidInput, UnsupportedMedia

HEAD_BYTES = 1 << 20
WINDOW_BYTES = 64 << 10
WINDOWS = 16
CHINESE = ("gbk", "gb18030")
ALIASES = {"utf8": "utf-8", "utf-8": "utf-8", "utf_8": "utf-8", "utf-8-sig": "utf-8-sig", "utf_8_sig": "utf-8-sig",
           "gbk": "gbk", "cp936": "gbk", "gb2312": "gbk", "gb18030": "gb18030", "ascii": "utf-8"}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "gbk": "GBK", "gb18030": "GB18030"}


def ensure_text(head: bytes) -> None:
    """Refuse binary content (NUL bytes, UTF-16) presented as text."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnsupportedMedia("文件是 UTF-16 编码；请另存为 UTF-8 或 GBK 的 CSV 后上传",
                               "The file is UTF-16; save it as UTF-8 or GBK CSV and upload again",
                               code="unsupported_encoding")
    sample = head[:65536]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample[:4096]) > 8:
        raise UnsupportedMedia("文件内容是二进制数据，不是文本表格（CSV）；请上传 CSV、XLSX、XLS、JSON 或 Parquet 文件",
                               "The file content is binary, not a text table (CSV); upload CSV, XLSX, XLS, "
                               "JSON or Parquet", code="binary_file")


@dataclass(frozen=True)
class Window:
    """A slice of the file cut at line boundaries; ``line`` is the 1-based number of its first line."""

    offset: int
    data: bytes
    line: int | None


def windows(path: Path) -> list[Window]:
    """The head (1 MiB) and up to 16 windows of 64 KiB spread over the rest of the file."""
    size = path.stat().st_size
    out: list[Window] = []
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        if size > len(head):
            head = head[: head.rfind(b"\n") + 1] or head
        out.append(Window(0, head, 1))
        if size <= HEAD_BYTES:
            return out
        step = max(WINDOW_BYTES, (size - HEAD_BYTES) // WINDOWS)
        for off in range(HEAD_BYTES, size, step):
            f.seek(off)
            data = f.read(WINDOW_BYTES)
            start = data.find(b"\n") + 1 if off else 0
            end = data.rfind(b"\n") + 1 if off + len(data) < size else len(data)
            if 0 < start < end:
                out.append(Window(off + start, data[start:end], None))
    return out


def _try(data: bytes, encoding: str) -> int | None:
    """Byte offset of the first undecodable byte, or ``None`` when ``data`` decodes strictly."""
    try:
        data.decode(encoding)
        return None
    except UnicodeDecodeError as exc:
        return exc.start


def _utf8_evidence(data: bytes) -> bool:
    """Whether ``data``, which decodes as UTF-8, says "UTF-8" rather than "GBK by chance".

    Short GBK text can be valid UTF-8: 姚志强 in GBK (D2A6 D6BE C7BF) reads as three two-byte
    UTF-8 characters (Ҧ־ǿ). Chinese written in UTF-8 takes three bytes a character, so text whose
    UTF-8 reading has no character from U+0800 on, and which also decodes as GB18030, proves
    nothing either way.
    """
    if any(ord(c) >= 0x800 for c in data.decode("utf-8")):
        return True
    return _try(data, "gb18030") is not None


def _line_of(win: Window, pos: int) -> str:
    if win.line is None:
        return f"字节 {win.offset + pos} 附近"
    line = win.line + win.data.count(b"\n", 0, pos)
    return f"第 {line} 行"


def _mixed(wins: list[Window], per_window: int = 100) -> tuple[str, str] | None:
    """Lines valid only as UTF-8 next to lines invalid as UTF-8 mean mixed encodings.

    Up to ``per_window`` non-ASCII lines, evenly spaced, are tried in each window (files
    are mixed in runs of lines, e.g. two exports pasted together).
    """
    utf8_at: str | None = None
    other_at: str | None = None
    for win in wins:
        if _try(win.data, "utf-8") is None:
            if utf8_at is None and not win.data.isascii() and _utf8_evidence(win.data):
                utf8_at = _line_of(win, 0)
            if other_at:
                return utf8_at or "", other_at
            continue
        lines = win.data.split(b"\n")
        step = max(1, len(lines) // (per_window * (4 if win.offset == 0 else 1)))
        offset = 0
        for i, line in enumerate(lines):
            pos, offset = offset, offset + len(line) + 1
            if i % step or line.isascii():
                continue
            if _try(line, "utf-8") is None:
                if _utf8_evidence(line):
                    utf8_at = utf8_at or _line_of(win, pos)
            else:
                other_at = other_at or _line_of(win, pos)
            if utf8_at and other_at:
                return utf8_at, other_at
    return None


def _label(enc: str) -> str:
    return ENCODING_LABELS.get(enc, enc.upper())


def detect_encoding(path: Path, declared: str | None = None) -> str:
    """The encoding of a text file: ``utf-8``, ``utf-8-sig``, ``gbk`` or ``gb18030``.

    Raises :class:`InvalidInput` for a declared encoding that does not fit, for mixed
    encodings and for text in no supported encoding.
    """
    wins = windows(path)
    head = wins[0].data
    ensure_text(head)
    if declared:
        return _verify_declared(wins, declared)
    if head.startswith(codecs.BOM_UTF8):
        return _verify(wins, "utf-8-sig", "utf-8-sig")
    if (m := _mixed(wins)) is not None:
        raise InvalidInput(f"文件混用了多种编码：{m[0]}是 UTF-8，{m[1]}不是；请统一另存为 UTF-8 或 GBK 后上传",
                           f"The file mixes encodings: {m[0]} is UTF-8 but {m[1]} is not; save the whole file "
                           "as UTF-8 or GBK", code="mixed_encoding")
    if all(_try(w.data, "utf-8") is None for w in wins) and (
            all(w.data.isascii() for w in wins) or any(_utf8_evidence(w.data) for w in wins)):
        return "utf-8"
    for enc in CHINESE:  # GBK is a subset of GB18030: name the narrower one when it fits
        if all(_try(w.data, enc) is None for w in wins):
            return enc
    guess = from_bytes(head[:200_000]).best()
    if guess is not None and guess.encoding.lower() in ("big5", "big5hkscs", "cp950", "utf_16", "shift_jis"):
        raise InvalidInput(f"文件编码似乎是 {guess.encoding}，暂不支持；请另存为 UTF-8 或 GBK 后上传",
                           f"The file seems to be {guess.encoding}, which is not supported; save it as UTF-8 or GBK",
                           code="unsupported_encoding")
    raise InvalidInput("无法识别文件编码（支持 UTF-8、GBK、GB18030）；文件可能混用了多种编码或已损坏",
                       "Cannot recognise the encoding (UTF-8, GBK and GB18030 are supported); the file may mix "
                       "encodings or be damaged", code="unknown_encoding")


def _verify(wins: list[Window], enc: str, shown: str) -> str:
    for win in wins:
        pos = _try(win.data, enc)
        if pos is not None:
            raise InvalidInput(f"{_line_of(win, pos)}无法按 {_label(shown)} 解码：文件可能混用了多种编码",
                               f"{_line_of(win, pos)} does not decode as {_label(shown)}: the file may mix "
                               "encodings", code="mixed_encoding")
    return enc


def _verify_declared(wins: list[Window], declared: str) -> str:
    enc = ALIASES.get(declared.strip().lower().replace(" ", ""))
    if enc is None:
        raise InvalidInput(f"不支持的编码“{declared}”；可选 UTF-8、GBK、GB18030",
                           f"Unsupported encoding {declared!r}; choose UTF-8, GBK or GB18030", code="bad_encoding")
    if enc in CHINESE and all(_try(w.data, "utf-8") is None for w in wins) and any(_utf8_evidence(w.data)
                                                                                       for w in wins):
        raise InvalidInput(f"声明的编码是 {_label(enc)}，但文件是 UTF-8 编码；请改选 UTF-8 或留空自动识别",
                           f"Declared {_label(enc)} but the file is UTF-8; choose UTF-8 or leave it empty",
                           code="wrong_encoding")
    for win in wins:
        pos = _try(win.data, enc)
        if pos is not None:
            raise InvalidInput(f"声明的编码 {_label(enc)} 与文件不符：{_line_of(win, pos)}无法解码；"
                               "请改选其他编码或留空自动识别",
                               f"The declared encoding {_label(enc)} does not fit: {_line_of(win, pos)} cannot "
                               "be decoded; choose another or leave it empty", code="wrong_encoding")
    if enc == "utf-8" and wins[0].data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return enc


def file_size(path: Path) -> int:
    return os.stat(path).st_size
