"""Fixtures for in-process page tests: a logged-in browser-like client."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

PASSWORD = "Tianfu-Data-7"


def csrf_of(html: str) -> str:
    """The CSRF token a rendered page carries in its meta tag."""
    m = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert m, "page has no csrf meta tag"
    return m.group(1)


@pytest.fixture
def login(client: Any) -> Callable[[str], str]:
    """Log ``client`` in through the form; returns the session's CSRF token."""

    def do(username: str, password: str = PASSWORD) -> str:
        r = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return csrf_of(client.get("/tokens").text)

    return do
