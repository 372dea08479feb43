"""``maxResults`` / ``pageToken`` on the protocol's list calls.

Items are listed in a stable order (by a sort key) and a page ends with an opaque
``nextPageToken``: the listing it belongs to and the key of the page's last item, signed
(HMAC-SM3 with the node's secret), so a page holds the items after that key even when grants
come and go between calls (keyset paging, nothing skipped or repeated). A page holds at most
``maxResults`` items and at most ``SHUDATA_DELTA_SHARING_PAGE_SIZE`` (the protocol lets a server
return fewer); the last page has no token. A token of another listing, or a forged one, is a 400.

>>> items = ["a", "b", "c"]
>>> first, token = page(items, str, secret="k", scope="s", max_results=2, page_token=None, cap=100)
>>> first, page(items, str, secret="k", scope="s", max_results=2, page_token=token, cap=100)
(['a', 'b'], (['c'], None))
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from shudata.core.errors import BadRequest
from shudata.security.crypto.sm3 import constant_time_equal, hmac_sm3_hex

T = TypeVar("T")


def _sign(secret: str, body: str) -> str:
    return hmac_sm3_hex(secret.encode(), f"delta-sharing-page:{body}".encode())[:32]


def make_token(secret: str, scope: str, after: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps([scope, after], ensure_ascii=False).encode()).decode().rstrip("=")
    return f"{body}.{_sign(secret, body)}"


def read_token(secret: str, scope: str, token: str) -> str:
    """The sort key the page starts after; 400 when the token is not one of this listing's."""
    body, _, sig = token.partition(".")
    try:
        ok = bool(sig) and constant_time_equal(sig, _sign(secret, body))
        got_scope, after = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) if ok else ("", "")
    except (ValueError, TypeError):
        ok = False
    if not ok or got_scope != scope or not isinstance(after, str):
        raise BadRequest("pageToken 无效：请使用上一页答复中的 nextPageToken，且用于同一个列表",
                         "Invalid pageToken: pass the nextPageToken of the previous page of the same list",
                         code="bad_page_token")
    return after


def page(items: Sequence[T], key: Callable[[T], str], *, secret: str, scope: str, max_results: int | None,
         page_token: str | None, cap: int) -> tuple[list[T], str | None]:
    """One page of ``items`` (ordered by ``key``) and the token of the next, if any."""
    if max_results is not None and max_results < 0:
        raise BadRequest("maxResults 不能为负数", "maxResults must be non-negative", code="bad_max_results")
    size = cap if max_results is None else min(max_results, cap)
    ordered = sorted(items, key=key)
    if page_token:
        after = read_token(secret, scope, page_token)
        ordered = [i for i in ordered if key(i) > after]
    chunk = ordered[:size]
    if len(ordered) <= size:
        return chunk, None
    last = key(chunk[-1]) if chunk else (read_token(secret, scope, page_token) if page_token else "")
    return chunk, make_token(secret, scope, last)
