"""One error hierarchy. Services raise these; ``web/errors.py`` maps them to HTTP once.

Every error carries a stable ``code`` and a message in Chinese and English that tells a
person what to do.

>>> e = NotFound("资源 X 不存在", "Resource X not found", code="resource_not_found")
>>> (e.status, e.code, e.message("en"))
(404, 'resource_not_found', 'Resource X not found')
"""

from __future__ import annotations

from typing import Any, ClassVar


class ShudataError(Exception):
    """Base class. ``status`` is the HTTP status the web layer answers with."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        zh: str,
        en: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(zh)
        self.zh = zh
        self.en = en or zh
        self.code = code or self.default_code
        self.details = details

    def message(self, lang: str = "zh-CN") -> str:
        return self.en if lang.lower().startswith("en") else self.zh


class InvalidInput(ShudataError):
    status = 422
    default_code = "invalid_input"


class BadRequest(ShudataError):
    status = 400
    default_code = "bad_request"


class Unauthenticated(ShudataError):
    status = 401
    default_code = "unauthenticated"


class PermissionDenied(ShudataError):
    status = 403
    default_code = "permission_denied"


class NotFound(ShudataError):
    status = 404
    default_code = "not_found"


class Conflict(ShudataError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(ShudataError):
    status = 413
    default_code = "payload_too_large"


class NotAcceptable(ShudataError):
    """No representation the client accepts (406): the message names the ones there are."""

    status = 406
    default_code = "not_acceptable"


class UnsupportedMedia(ShudataError):
    status = 415
    default_code = "unsupported_media_type"


class LimitExceeded(ShudataError):
    """A quota or rate limit (429); ``retry_after`` seconds when known."""

    status = 429
    default_code = "limit_exceeded"

    def __init__(self, zh: str, en: str | None = None, *, retry_after: int | None = None, **kw: Any):
        super().__init__(zh, en, **kw)
        self.retry_after = retry_after


class QueryTimeout(ShudataError):
    status = 408
    default_code = "query_timeout"


class Unavailable(ShudataError):
    """The node cannot do this now (503): busy or shutting down; ``retry_after`` seconds."""

    status = 503
    default_code = "unavailable"

    def __init__(self, zh: str, en: str | None = None, *, retry_after: int | None = 2, **kw: Any):
        super().__init__(zh, en, **kw)
        self.retry_after = retry_after
