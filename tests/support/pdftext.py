"""The text of a reportlab PDF set in a CID font (UCS-2 strings), for tests: every string shown
with ``Tj`` in every content stream, decoded."""

from __future__ import annotations

import base64
import re
import zlib

_ESC = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _literal(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        c = raw[i:i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = raw[i + 1:i + 2]
        if nxt in _ESC:
            out += _ESC[nxt]
            i += 2
        else:
            m = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            if m:
                out.append(int(m.group(), 8) & 0xFF)
                i += 1 + len(m.group())
            else:
                i += 1
    return bytes(out)


def pdf_content(pdf: bytes) -> bytes:
    """Every content stream, decoded (ASCII85 and Flate), joined: the page-drawing operators."""
    out: list[bytes] = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = m.group(1)
        for decode in (zlib.decompress, lambda d: zlib.decompress(base64.a85decode(d.strip(), adobe=True))):
            try:
                data = decode(data)
                break
            except (zlib.error, ValueError):
                continue
        out.append(data)
    return b"\n".join(out)


def pdf_text(pdf: bytes) -> str:
    parts: list[str] = []
    for s in re.finditer(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", pdf_content(pdf), re.S):
        raw = _literal(s.group(1))
        try:
            parts.append(raw.decode("utf-16-be") if len(raw) % 2 == 0 else raw.decode("latin-1"))
        except UnicodeDecodeError:
            parts.append(raw.decode("latin-1"))
    return "".join(parts)
