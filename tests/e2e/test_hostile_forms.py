"""Every HTML form of the workbench, submitted with hostile values (forms sweep, a follow-up of
the hostile-input sweep of the JSON API).

The forms are found, not listed: every page of the UI is rendered with the demo loaded, as each
demo role sees it (the pages of tests/e2e/test_zh_cn_pages.py), and every ``<form method=post>``
and htmx ``hx-post`` on them is kept with its fields and hidden values. Each form is then
submitted from its page, with the page's valid CSRF token, with hostile values (:data:`VARIANTS`):
empty and missing fields, 10,000-character strings, control characters and NUL, invalid UTF-8
(raw bytes in the body), text in number fields, every name twice, unknown and negative ids in
the id fields. Each answer must be

- never a 5xx;
- for a form posted from a page, never raw JSON (the person sees a page);
- when refused with a 4xx, a page or fragment that says why (``role="alert"``), recorded in the
  audit trail, with nothing else written to the store (tables other than the audit trail,
  sessions and login throttles are left as they were).

A form whose action this harvest cannot reach (no demo object offers it) is listed by
:func:`test_the_harvest_reaches_the_forms`, which fails when fewer forms are found than before.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from tests.e2e.test_zh_cn_pages import WHO, developer_login, fill, login, page_paths, parameters

from shudata.audit.models import AuditEntry
from shudata.core.config import Settings
from shudata.db.runtime import Runtime
from shudata.web.app import create_app
from support.demo_store import loaded_demo_copy

# slow: ~40 s a test, ~8 min the file: handed out among the first files (tests/conftest.py), not last by its
# test count, where it ran on alone at the end of the suite
pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "zh-CN,zh;q=0.9"}
LONG = "长" * 10_000
CONTROL = "\x00\x07\x1b[2J\u202e\r\n"
ID_NAME = re.compile(r"(^|_)(id|ids|code|dataset|resource|number|department|product|order|user|key|participant"
                     r"|grant|request)(_|$)")
# Forms that end the session or log in: submitted last, each followed by a new login.
SESSION_FORMS = ("/logout", "/portal/developer/logout", "/login", "/portal/developer/login",
                 "/portal/developer/register", "/account/password")
MIN_ACTIONS = 45  # distinct form actions the harvest reached when this test was written (51)


@dataclass
class Form:
    who: str | None
    page: str
    action: str
    multipart: bool
    htmx: bool
    fields: list[tuple[str, str, str]]  # (name, type, value) of the fields a browser would send


class FormParser(HTMLParser):
    """The POST forms (and htmx ``hx-post`` buttons) of a page, with the values a browser would send."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: list[Any] | None = None
        self._fieldsets: list[bool] = []  # whether each open <fieldset> is disabled

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            post = a.get("method", "get").lower() == "post" or "hx-post" in a
            self._form = {"action": a.get("hx-post") or a.get("action", ""), "htmx": "hx-post" in a,
                          "multipart": a.get("enctype", "").startswith("multipart"), "fields": []} if post else None
            if self._form is not None:
                self.forms.append(self._form)
        elif tag == "button" and "hx-post" in a:
            self.forms.append({"action": a["hx-post"], "htmx": True, "multipart": False, "fields": []})
        elif tag == "fieldset":
            self._fieldsets.append("disabled" in a)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            if any(self._fieldsets):  # a browser sends no field of a disabled fieldset
                return
            kind = a.get("type", "text" if tag == "input" else tag)  # <input> without a type is a text field
            if (kind in ("checkbox", "radio") and "checked" not in a) or kind == "file":
                return
            field = [a["name"], kind, a.get("value", "")]
            self._form["fields"].append(field)
            self._select = field if tag == "select" else None
        elif tag == "option" and self._select is not None and (not self._select[2] or "selected" in a):
            self._select[2] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
        elif tag == "select":
            self._select = None


def sign_in(client: TestClient, who: str | None, params: dict[str, str]) -> None:
    if who is None:
        client.cookies.clear()
    elif who == "developer":
        developer_login(client)
    else:
        login(client, params["steward"] if who == "steward" else who)


def harvest(client: TestClient, app: Any, params: dict[str, str]) -> list[Form]:
    """Every POST form on every page, once per (role, action with its numbers blanked)."""
    found: dict[tuple[str | None, str], Form] = {}
    paths = page_paths(app)
    for who in WHO:
        sign_in(client, who, params)
        for path in paths:
            url = fill(path, params)
            r = client.get(url, follow_redirects=False)
            if r.status_code != 200 or not r.headers.get("content-type", "").startswith("text/html"):
                continue
            parser = FormParser()
            parser.feed(r.text)
            for f in parser.forms:
                action = f["action"] or url
                key = (who, re.sub(r"\d+", "N", action.split("?")[0]))
                if key not in found:
                    found[key] = Form(who, url, action, f["multipart"], f["htmx"],
                                      [(n, k, v) for n, k, v in f["fields"] if n != "csrf_token"])
    return sorted(found.values(), key=lambda f: (str(f.who), f.action.split("?")[0] in SESSION_FORMS))


Pairs = Sequence[tuple[str, str | bytes]]


def _values(fields: list[tuple[str, str, str]]) -> Pairs:
    return [(n, v) for n, _, v in fields]


VARIANTS: dict[str, Any] = {
    "empty": lambda fs: [(n, v if k == "hidden" else "") for n, k, v in fs],  # every field a person fills, empty
    "missing": lambda fs: [],  # nothing but the CSRF token
    "long": lambda fs: [(n, LONG) for n, _, _ in fs],  # 10,000 characters everywhere, hidden fields too
    "control": lambda fs: [(n, v + CONTROL) for n, _, v in fs],  # NUL, BEL, ESC, RLO, CR LF appended
    "bad_utf8": lambda fs: [(n, v.encode() + b"\xff\xfe\xc3") for n, _, v in fs],  # raw bytes, not UTF-8
    "text_in_numbers": lambda fs: [(n, "abc") for n, _, _ in fs],  # wrong types: text in every field
    "duplicates": lambda fs: [p for n, _, v in fs for p in ((n, v), (n, "abc"))],  # every name twice
    "unknown_ids": lambda fs: [(n, "999999999" if ID_NAME.search(n) else v) for n, _, v in fs],
    "negative_ids": lambda fs: [(n, "-1" if ID_NAME.search(n) else v) for n, _, v in fs],
}


def urlencoded(pairs: Pairs, csrf: str) -> bytes:
    encoded = [f"{quote(n)}={quote_from_bytes(v if isinstance(v, bytes) else v.encode())}" for n, v in pairs]
    return "&".join([f"csrf_token={quote(csrf)}", *encoded]).encode()


def multipart(pairs: Pairs) -> tuple[bytes, str]:
    boundary = "----sd-hostile-forms"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n'.encode()
                    + (v if isinstance(v, bytes) else v.encode()) + b"\r\n" for n, v in pairs)
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class World:
    rt: Runtime
    client: TestClient
    params: dict[str, str]
    forms: list[Form]
    writes: Writes
    refusals_before: int = 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("forms")
    said = loaded_demo_copy(tmp_path_factory, worker_id, tmp / "data")
    assert said.exit_code == 0, said.output
    # hostile logins are refused, not locked out, and the portal's per-address limit is off: the sweep
    # logs in and opens pages many times a minute from one address
    rt = Runtime.build(Settings(env="test", data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'data' / 'meta.db'}",
                                login_max_failures=10**6, login_ip_max_failures=10**6, portal_rate_ip_per_min=0))
    params = parameters(rt)
    app = create_app(runtime=rt, migrate=False)
    with TestClient(app, headers=HTML, raise_server_exceptions=False) as client:
        forms = harvest(client, app, params)
        yield World(rt, client, params, forms, Writes(rt.engine))
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


def submit(w: World, form: Form, pairs: Pairs) -> Any:
    """Open the form's page (signing in again when the session is gone) and post ``pairs`` from it."""
    page = w.client.get(form.page)
    if "/login" in str(page.url) and "/login" not in form.page and form.who is not None:
        sign_in(w.client, form.who, w.params)
        page = w.client.get(form.page)
    token = re.search(r'<meta name="csrf-token" content="([^"]*)"', page.text) or re.search(
        r'name="csrf_token" value="([^"]+)"', page.text)
    csrf = token.group(1) if token else ""
    headers = {**HTML, "Referer": f"http://testserver{form.page}", "X-CSRF-Token": csrf}
    if form.htmx:
        headers["HX-Request"] = "true"
    url = form.action
    if form.multipart:
        body, headers["Content-Type"] = multipart(pairs)
        if "csrf_token=" not in url:
            url += ("&" if "?" in url else "?") + f"csrf_token={quote(csrf)}"
    else:
        body, headers["Content-Type"] = urlencoded(pairs, csrf), "application/x-www-form-urlencoded"
    w.writes.committed.clear()  # what the post itself writes, not the page's GET or a new login
    w.refusals_before = _refusals(w.rt)
    return w.client.post(url, content=body, headers=headers, follow_redirects=False)


def problems_of(form: Form, r: Any) -> list[str]:
    where = f"{form.who or 'anonymous'} {form.action.split('?')[0]}"
    kind = r.headers.get("content-type", "")
    if r.status_code >= 500:
        return [f"{where}: {r.status_code}"]
    if kind.startswith("application/json") and "attachment" not in r.headers.get("content-disposition", ""):
        return [f"{where}: raw JSON answer ({r.status_code})"]  # (a download, such as a sharing profile, is JSON)
    if 400 <= r.status_code < 500 and 'role="alert"' not in r.text and r.status_code != 401:
        return [f"{where}: {r.status_code} without a message"]
    return []


# Written by any request, refused or not: the audit trail, sessions and the login throttle; and a
# hosted job the seller's rules refuse, which is kept (in its own transaction) for the buyer's record.
BOOKKEEPING = re.compile(r"^(audit_|security_web_session|security_login_throttle|market_hosted_job$)")


class Writes:
    """The tables each committed transaction wrote (INSERT, UPDATE, DELETE), from the engine's events."""

    def __init__(self, engine: Any) -> None:
        self.committed: set[str] = set()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", lambda conn: conn.info.pop("sd_writes", None))

    def _statement(self, conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        m = re.match(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', sql, re.I)
        if m and not BOOKKEEPING.match(m.group(1)):
            conn.info.setdefault("sd_writes", set()).add(m.group(1))

    def _commit(self, conn: Any) -> None:
        self.committed |= conn.info.pop("sd_writes", set())


def _refusals(rt: Runtime) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.outcome.in_(
            ("rejected", "denied")))) or 0


def refusal_problems(w: World, form: Form, r: Any, refusals_before: int) -> list[str]:
    """A 4xx must have written nothing and be in the audit trail — as the API's refusals are: a failed
    login (401) has its own events, and a 404 of an unknown object is not recorded (the API's rule)."""
    if not 400 <= r.status_code < 500:
        return []
    where = f"{form.who or 'anonymous'} {form.action.split('?')[0]} ({r.status_code})"
    found = [f"{where}: wrote {sorted(w.writes.committed)}"] if w.writes.committed else []
    if r.status_code not in (401, 404, 405) and _refusals(w.rt) <= refusals_before:
        found.append(f"{where}: not in the audit trail")
    return found


def test_the_harvest_reaches_the_forms(world: World) -> None:
    actions = {re.sub(r"\d+", "N", f.action.split("?")[0]) for f in world.forms}
    assert len(actions) >= MIN_ACTIONS, sorted(actions)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_form_refuses_hostile_values_with_a_message(world: World, variant: str) -> None:
    problems: list[str] = []
    who: object = object()
    for form in world.forms:
        if form.who != who:
            who = form.who
            sign_in(world.client, form.who, world.params)
        r = submit(world, form, VARIANTS[variant](form.fields))
        problems += problems_of(form, r) + refusal_problems(world, form, r, world.refusals_before)
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_product_form_with_a_hostile_seller_or_group_size_is_shown_again(world: World) -> None:
    """The new-product form read its hidden ``seller_id`` with ``int()`` (text there, or a number past
    2^63, was a 500) and the hosted group size with ``isdigit()`` + ``int()`` ("²" was a 500)."""
    form = next(f for f in world.forms if f.action.startswith("/market/seller/products/new"))
    sign_in(world.client, form.who, world.params)
    for seller, group in (("abc", "5"), ("9" * 30, "5"), ("", "²"), ("\x00", "")):
        values = [(n, seller if n == "seller_id" else group if n == "min_group" else v) for n, _, v in form.fields]
        r = submit(world, form, values)
        assert r.status_code in (404, 422) and 'role="alert"' in r.text, (seller, group, r.status_code)


def test_another_departments_forms_are_refused(world: World) -> None:
    """The forms a department's steward sees on its own objects (its entries' quality, privacy and
    sharing decisions, its public requests), posted by the steward of another department with the
    values as they were: refused (a 4xx with a message, or back to a page that says why), nothing
    written, and recorded like any refusal."""
    own = [f for f in world.forms if f.who == "steward" and re.search(r"\d", f.action.split("?")[0])
           and f.action.split("?")[0] not in SESSION_FORMS]
    assert len(own) >= 8, [f.action for f in own]
    sign_in(world.client, "tjj_steward", world.params)
    problems: list[str] = []
    for form in own:
        r = submit(world, form, _values(form.fields))
        problems += [p.replace("steward", "tjj_steward as steward", 1) for p in problems_of(form, r)]
        if r.status_code == 303:
            shown = world.client.get(r.headers["location"]).text
            if not re.search(r'class="alert alert-(danger|warning)', shown):
                problems.append(f"{form.action}: accepted from another department")
            if world.writes.committed:
                problems.append(f"{form.action}: wrote {sorted(world.writes.committed)}")
        else:
            problems += refusal_problems(world, form, r, world.refusals_before)
    assert not problems, "\n".join(problems)


TEXT_KINDS = ("text", "textarea", "search", "email", "tel", "url")


def test_control_characters_in_any_one_text_field_are_refused(world: World) -> None:
    """Each text field of each form alone gets NUL and a right-to-left override (the others keep
    their values, empty ones a plain text): the form must not accept it — a 4xx with the message, or
    back to a page that says why. (All fields at once hid this: another field's error came first.)"""
    problems: list[str] = []
    who: object = object()
    for form in world.forms:
        path = form.action.split("?")[0]
        if path in SESSION_FORMS:
            continue
        for i, (name, kind, _) in enumerate(form.fields):
            if kind not in TEXT_KINDS:
                continue
            if form.who != who:
                who = form.who
                sign_in(world.client, form.who, world.params)
            values = [(n, (v or "测试内容文字") + ("\x00\u202e" if j == i else "")) if k in TEXT_KINDS else (n, v)
                      for j, (n, k, v) in enumerate(form.fields)]
            r = submit(world, form, values)
            if r.status_code == 303:
                shown = world.client.get(r.headers["location"]).text
                if not re.search(r'class="alert alert-(danger|warning)', shown):
                    problems.append(f"{form.who} {path} {name}: accepted")
            elif r.status_code < 400:
                problems.append(f"{form.who} {path} {name}: {r.status_code}")
    assert not problems, "\n".join(problems)
