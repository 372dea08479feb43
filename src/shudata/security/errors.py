"""Errors of the security package (subclasses of :mod:`shudata.core.errors`)."""

from __future__ import annotations

from typing import Any

from shudata.core.errors import LimitExceeded


class LoginThrottled(LimitExceeded):
    """Too many failed logins for this account or from this address: 429 with ``Retry-After``.
    While it lasts even the right password is refused."""

    default_code = "login_throttled"

    def __init__(self, scope: str, retry_after: int, **kw: Any) -> None:
        if scope == "ip":
            zh = f"该 IP 地址登录失败次数过多，已暂时禁止登录，请 {retry_after} 秒后再试"
            en = f"Too many failed logins from this address; try again in {retry_after} s"
        else:
            zh = f"该账号登录失败次数过多，已暂时锁定，请 {retry_after} 秒后再试；如非本人操作，请联系管理员"
            en = (f"Too many failed logins for this account; it is locked for {retry_after} s. "
                  "If this was not you, tell the administrator")
        super().__init__(zh, en, retry_after=retry_after, details={"scope": scope, "retry_after": retry_after}, **kw)
        self.scope = scope
