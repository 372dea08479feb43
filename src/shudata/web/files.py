"""Files over HTTP: the one way a prepared download is served.

Every download URL (portal downloads, sharing file downloads, Delta Sharing file URLs) ends
here, once its route has checked access (the grant, the developer key, the signed link) and
has the file it may send: a materialised, already masked file that does not change while its
``etag`` stays the same. This module adds what HTTP clients that read files by URL rely on
(polars, pandas, DuckDB's httpfs, ``curl -C -``):

- ``HEAD`` answers the headers of ``GET`` (``Content-Length`` included) with no body;
- ``ETag`` (strong, from the route: it names the version, the format and the terms that shaped
  the content) and ``Last-Modified`` (when that content was published, not the cache file's
  own time), so ``If-None-Match`` / ``If-Modified-Since`` answer ``304``;
- ``Range`` (RFC 9110 §14): one range → ``206`` with ``Content-Range``; a range that starts
  past the end → ``416`` with ``Content-Range: bytes */size`` and a message; a malformed
  ``Range`` is ignored (the whole file, ``200``), as the RFC allows; ``If-Range`` with the
  current ETag (or date) keeps the range, anything else sends the whole file. Several
  ranges are answered by Starlette's ``multipart/byteranges``.

Starlette's ``FileResponse`` (1.x) already sends ranges, ``HEAD`` and ``If-Range``; the
validators it would derive from the file's mtime are replaced by the route's, and the
conditional requests and the refusal of an unsatisfiable range are answered here.

>>> parse_ranges("bytes=0-99", 1000), parse_ranges("bytes=-10", 1000), parse_ranges("bytes=990-", 1000)
([(0, 99)], [(990, 999)], [(990, 999)])
>>> parse_ranges("bytes=1000-", 1000), parse_ranges("items=0-1", 1000), parse_ranges("bytes=5-1", 1000)
([], None, None)
>>> etag_matches('"a", W/"b"', "b"), etag_matches("*", "x"), etag_matches('"a"', "b")
(True, True, False)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from shudata.lake.export import content_disposition
from shudata.web.errors import error_response

_RANGE_HEADERS = (b"range", b"if-range")


@dataclass(frozen=True)
class PreparedFile:
    """A file ready to send: ``etag`` (unquoted) must change whenever the bytes would."""

    path: Path
    etag: str
    media_type: str
    last_modified: dt.datetime
    filename: str | None = None
    public: bool = False  # open data any cache may keep (else ``private``: grant- or key-bound)
    headers: Mapping[str, str] = field(default_factory=dict)


def http_date(when: dt.datetime) -> str:
    """``Sun, 06 Dec 2026 22:00:00 GMT`` (naive datetimes are UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return email.utils.format_datetime(when.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def _parse_date(text: str) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2) of an ``If-None-Match`` list with ``etag``."""
    for item in header.split(","):
        tag = item.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == etag:
            return True
    return False


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable byte ranges (inclusive) of a ``Range`` header; ``[]`` when none is
    satisfiable, ``None`` when the header is malformed (and so ignored)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    out: list[tuple[int, int]] = []
    for part in spec.split(","):
        first, dash, last = part.strip().partition("-")
        if not dash:
            return None
        try:
            if first.strip() == "":  # suffix: the last N bytes
                n = int(last)
                if n < 0:
                    return None
                if n > 0 and size > 0:
                    out.append((max(0, size - n), size - 1))
                continue
            start = int(first)
            end = int(last) if last.strip() else None
        except ValueError:
            return None
        if start < 0 or (end is not None and end < start):
            return None
        if start < size:
            out.append((start, size - 1 if end is None else min(end, size - 1)))
    return out


class _File(FileResponse):
    """Starlette's FileResponse told to ignore ``Range``/``If-Range`` (a malformed range)."""

    def __init__(self, *args: object, ignore_range: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.ignore_range = ignore_range

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.ignore_range:
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in _RANGE_HEADERS]}
        await super().__call__(scope, receive, send)


def range_start(request: Request) -> int | None:
    """The first byte a ranged request asks for (``None`` for a whole-file or malformed request)."""
    header = request.headers.get("range")
    if header is None:
        return None
    unit, _, spec = header.partition("=")
    first = spec.split(",")[0].partition("-")[0].strip()
    if unit.strip().lower() != "bytes":
        return None
    return int(first) if first.isdigit() else None


def not_modified(request: Request, etag: str, last_modified: dt.datetime) -> bool:
    """Whether a ``GET``/``HEAD`` is answered ``304``: ``If-None-Match`` matches ``etag`` or, without
    it, ``If-Modified-Since`` is not before ``last_modified`` (RFC 9110 §13.2.2)."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return etag_matches(inm, etag)
    ims = request.headers.get("if-modified-since")
    since = _parse_date(ims) if ims is not None else None
    when = last_modified if last_modified.tzinfo is not None else last_modified.replace(tzinfo=dt.UTC)
    return since is not None and when.replace(microsecond=0) <= since


def serve_file(request: Request, f: PreparedFile) -> Response:
    """Answer ``GET``/``HEAD`` of a prepared file: validators, conditional requests and ranges."""
    st = os.stat(f.path)
    etag = f'"{f.etag}"'
    modified = http_date(f.last_modified)
    headers = {"ETag": etag, "Last-Modified": modified, "Accept-Ranges": "bytes",
               "Cache-Control": ("public" if f.public else "private") + ", no-cache", **f.headers}
    if f.filename:
        headers["Content-Disposition"] = content_disposition(f.filename)
    if not_modified(request, f.etag, f.last_modified):
        return Response(status_code=304, headers=_validators(headers))
    ignore_range = False
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted is not None and (if_range is None or if_range in (etag, modified)):
        ranges = parse_ranges(wanted, st.st_size)
        if ranges is None:
            ignore_range = True
        elif not ranges:
            return error_response(
                request, 416, "range_not_satisfiable",
                f"请求的字节范围“{wanted[:80]}”超出文件大小（{st.st_size} 字节）；请从 0 到 {max(0, st.st_size - 1)} "
                "之间请求，或不带 Range 下载整个文件",
                f"The requested range {wanted[:80]!r} is beyond the file's {st.st_size} bytes; ask for bytes 0 to "
                f"{max(0, st.st_size - 1)}, or download the whole file without Range",
                {"size": st.st_size, "range": wanted[:200]}, headers={"Content-Range": f"bytes */{st.st_size}"})
    return _File(f.path, media_type=f.media_type, headers=headers, stat_result=st, ignore_range=ignore_range)


def _validators(headers: Mapping[str, str]) -> dict[str, str]:
    """What a ``304`` repeats of the full answer (RFC 9110 §15.4.5)."""
    return {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified", "Cache-Control", "Vary")}
