"""Early warning (预警): alert rules and the anomaly detector on the new periods of a recompute, the
alert log, and its deliveries to subscriptions (in-app notices, webhooks).

A rule of kind ``level`` / ``change`` / ``rank_move`` is a :mod:`shudata.analysis.rules` rule on the
indicator (its ``params`` are the rule's fields); ``anomaly`` runs
:func:`shudata.analysis.anomaly.detect` on each seasonal series. Only periods that a recompute added or
changed raise alerts (on the first computation: the newest period of each series), and each rule ×
region × site × period raises at most one alert, however often the indicator is recomputed.

Webhooks are POSTed after the recompute's transaction commits, with a timeout and a bounded number of
attempts (each one recorded on the delivery). The URL must be http(s) and must not point at a loopback,
private, link-local or reserved address unless ``analysis_webhook_allow_private`` is set (SSRF).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa
from pydantic import ValidationError
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from shudata.analysis import anomaly, rules
from shudata.analysis.access import can_see
from shudata.analysis.models import (
    AnalysisAlert,
    AnalysisAlertRule,
    AnalysisDelivery,
    AnalysisIndicator,
    AnalysisSubscription,
)
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.security.models import User
from shudata.security.service import actor_for

log = logging.getLogger(__name__)

SEVERITIES = ("提示", "警告", "严重")
RULE_KINDS = ("level", "change", "rank_move", "anomaly")
SEASON = {"月": 12, "季": 4, "日": 7, "时": 24}
WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_ATTEMPTS = 3
Key = tuple[str, str, str]  # region_code, site, period
Poster = Callable[[str, bytes, dict[str, str]], int]


def check_rule(kind: str, params: dict[str, Any], severity: str) -> None:
    """422 unless ``params`` make a rule of ``kind``."""
    if kind not in RULE_KINDS:
        raise InvalidInput(f"未知的预警规则类型：{kind}（可选 {'、'.join(RULE_KINDS)}）", f"Unknown rule kind {kind!r}",
                           code="analysis_bad_rule")
    if severity not in SEVERITIES:
        raise InvalidInput(f"未知的预警级别：{severity}", f"Unknown severity {severity!r}", code="analysis_bad_rule")
    if kind == "anomaly":  # a fixed threshold (robust units) or a false-alarm rate (default: detect's α)
        t = params.get("threshold")
        if t is not None and (not isinstance(t, int | float) or not 1 <= t <= 10):
            raise InvalidInput("异常检测阈值须在 1 到 10 之间", "The anomaly threshold must be 1–10",
                               code="analysis_bad_rule")
        a = params.get("alpha", 0.05)
        if not isinstance(a, int | float) or not 0 < a < 0.5:
            raise InvalidInput("异常检测的误报率 alpha 须在 0 与 0.5 之间", "The anomaly alpha must be in (0, 0.5)",
                               code="analysis_bad_rule")
        return
    _rule(kind, "x", params, severity)


def _rule(kind: str, indicator: str, params: dict[str, Any], severity: str) -> Any:
    cls = {"level": rules.LevelRule, "change": rules.ChangeRule, "rank_move": rules.RankRule}[kind]
    try:
        return cls(**{**params, "indicator": indicator, "severity": severity, "latest_only": False})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"预警规则参数无效：{where} {first.get('msg', '')}",
                           f"Invalid rule parameters: {where} {first.get('msg', '')}",
                           code="analysis_bad_rule") from None


def fresh_keys(table: pa.Table, before: dict[Key, float | None]) -> set[Key]:
    """The (region, site, period) cells a recompute added or changed; with nothing before, the newest
    period of each series (a new indicator warns about today, not about its history)."""
    cols = table.to_pydict()
    now: dict[Key, float | None] = {}
    for code, site, period, v in zip(cols["region_code"], cols["site"], cols["period"], cols["value"], strict=True):
        now[(code or "000000", site or "", period)] = v
    if not before:
        newest: dict[tuple[str, str], str] = {}
        for code, site, period in now:
            if period > newest.get((code, site), ""):
                newest[(code, site)] = period
        return {(c, s, p) for (c, s), p in newest.items()}
    return {k for k, v in now.items() if k not in before or before[k] != v}


def _anomalies(table: pa.Table, frequency: str, params: dict[str, Any], fresh: set[Key]) -> list[dict[str, Any]]:
    """The detector's anomalies on the ``fresh`` cells: each series is judged from its first fresh period
    on (the periods before only build the history the detector compares with)."""
    season = SEASON.get(frequency)
    if season is None:
        return []
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in table.to_pylist():
        if r["value"] is not None:
            series.setdefault((r["region_code"] or "000000", r["site"] or ""), []).append(r)
    out = []
    for (code, site), rows in series.items():
        rows.sort(key=lambda r: r["period_start"])
        new = [i for i, r in enumerate(rows) if (code, site, r["period"]) in fresh]
        if not new:
            continue
        try:
            t = params.get("threshold")
            found = anomaly.detect([float(r["value"]) for r in rows], season,
                                   threshold=None if t is None else float(t),
                                   alpha=float(params.get("alpha", 0.05)), start=new[0])
        except InvalidInput:  # too short or irregular: nothing to say about it
            continue
        for a in found:
            out.append({**rows[a.index], "kind": a.kind, "score": a.score, "expected": a.expected})
    return out


_KIND_ZH = {"spike": "突变", "level_shift": "水平移动", "seasonal_break": "季节性断裂"}


def evaluate(session: Session, ind: AnalysisIndicator, table: pa.Table, fresh: set[Key],
             recompute_id: int | None) -> list[AnalysisAlert]:
    """The alerts the enabled rules of ``ind`` raise on the ``fresh`` cells (written to the log)."""
    out: list[AnalysisAlert] = []
    if not fresh or table.num_rows == 0:
        return out
    for rule in session.scalars(select(AnalysisAlertRule).where(AnalysisAlertRule.indicator_id == ind.id,
                                                                AnalysisAlertRule.enabled.is_(True))):
        found: list[dict[str, Any]] = []
        if rule.kind == "anomaly":
            for a in _anomalies(table, ind.frequency, rule.params, fresh):
                where = a["region"] or a["region_code"]
                found.append({
                    "region_code": a["region_code"], "region": a["region"], "site": a["site"] or "",
                    "period": a["period"], "value": a["value"],
                    "zh": f"{where} {ind.name} {a['period']} 为 {a['value']:.4g}{ind.unit or ''}，偏离季节分解预期值 "
                          f"{a['expected']:.4g}（{_KIND_ZH.get(a['kind'], a['kind'])}，稳健 z = {a['score']:.1f}）",
                    "en": f"{where} {ind.name} {a['period']}: {a['value']:.4g}, expected {a['expected']:.4g} "
                          f"({a['kind']}, robust z = {a['score']:.1f})",
                    "details": {"anomaly": a["kind"], "score": a["score"], "expected": a["expected"]}})
        else:
            for w in rules.evaluate([_rule(rule.kind, ind.name, rule.params, rule.severity)], table):
                found.append({"region_code": w.region_code, "region": w.region, "site": "", "period": w.period,
                              "value": w.value, "zh": w.message_zh, "en": w.message_en, "details": {}})
        for f in found:
            key = (f["region_code"] or "000000", f["site"], f["period"])
            if key not in fresh and (key[0], "", key[2]) not in fresh:
                continue
            akey = f"{rule.id}|{key[0]}|{key[1]}|{key[2]}"
            if session.scalar(select(AnalysisAlert.id).where(AnalysisAlert.key == akey)) is not None:
                continue
            alert = AnalysisAlert(key=akey, rule_id=rule.id, indicator_id=ind.id, kind=rule.kind,
                                  severity=rule.severity, region_code=key[0], region=f["region"], site=key[1],
                                  period=key[2], value=f["value"], message_zh=f["zh"], message_en=f["en"],
                                  details={**f["details"], "rule": rule.name}, recompute_id=recompute_id)
            session.add(alert)
            out.append(alert)
    session.flush()
    return out


def notify(session: Session, settings: Settings, ind: AnalysisIndicator,
           alerts: Sequence[AnalysisAlert]) -> list[AnalysisDelivery]:
    """One delivery per alert and matching subscription whose user may see the indicator."""
    out: list[AnalysisDelivery] = []
    if not alerts:
        return out
    subs = session.scalars(select(AnalysisSubscription).where(
        AnalysisSubscription.enabled.is_(True),
        (AnalysisSubscription.indicator_id.is_(None)) | (AnalysisSubscription.indicator_id == ind.id))).all()
    for sub in subs:
        user = session.get(User, sub.user_id)
        if user is None or not user.is_active or not can_see(actor_for(user), ind):
            continue
        for a in alerts:
            if SEVERITIES.index(a.severity) < SEVERITIES.index(sub.min_severity):
                continue
            d = AnalysisDelivery(alert_id=a.id, subscription_id=sub.id, user_id=sub.user_id, channel=sub.channel,
                                 status="unread" if sub.channel == "inapp" else "pending", log=[])
            session.add(d)
            out.append(d)
    session.flush()
    pending = [d.id for d in out if d.channel == "webhook"]
    if pending:
        _after_commit(session, settings, pending)
    return out


# -- webhooks ----------------------------------------------------------------------------------------


def check_webhook_url(url: str, *, allow_private: bool, resolve: bool = True) -> None:
    """422 unless ``url`` is http(s) to a public address (every address the host name resolves to)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("Webhook 地址须为 http:// 或 https:// 开头的完整网址", "The webhook URL must be http(s)",
                           code="analysis_bad_webhook")
    if allow_private:
        return
    host = parts.hostname
    try:
        addrs = [ipaddress.ip_address(host)]
    except ValueError:
        if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
            addrs = [ipaddress.ip_address("127.0.0.1")]
        elif not resolve:
            return
        else:
            try:
                infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                           proto=socket.IPPROTO_TCP)
            except OSError:
                raise InvalidInput(f"Webhook 主机名无法解析：{host}", f"Cannot resolve the webhook host {host}",
                                   code="analysis_bad_webhook") from None
            addrs = [ipaddress.ip_address(i[4][0]) for i in infos]
    for a in addrs:
        if not a.is_global or a.is_multicast:
            raise InvalidInput(
                f"Webhook 地址 {host} 指向内网、回环或保留地址（{a}），不允许；如确需推送到内网，请由管理员开启 "
                "SHUDATA_ANALYSIS_WEBHOOK_ALLOW_PRIVATE",
                f"The webhook host {host} points at a loopback, private or reserved address ({a}); set "
                "SHUDATA_ANALYSIS_WEBHOOK_ALLOW_PRIVATE to allow it", code="analysis_webhook_private")


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    with httpx.Client(timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False) as c:
        return c.post(url, content=body, headers=headers).status_code


def payload(alert: AnalysisAlert, ind: AnalysisIndicator) -> dict[str, Any]:
    return {"alert": alert.id, "indicator": ind.code, "indicator_name": ind.name, "severity": alert.severity,
            "kind": alert.kind, "region_code": alert.region_code, "region": alert.region, "site": alert.site or None,
            "period": alert.period, "value": alert.value, "message": alert.message_zh, "message_en": alert.message_en,
            "created_at": alert.created_at.isoformat() if alert.created_at else None}


def send_webhooks(session: Session, settings: Settings, ids: Sequence[int], *, post: Poster | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> None:
    """POST each pending webhook delivery (at most ``WEBHOOK_ATTEMPTS`` tries, 1 s then 2 s apart), recording
    every attempt; the URL is checked again before sending (its name may now resolve elsewhere)."""
    post = post or _post
    for did in ids:
        d = session.get(AnalysisDelivery, did)
        if d is None or d.status != "pending":
            continue
        sub = session.get(AnalysisSubscription, d.subscription_id)
        alert = session.get(AnalysisAlert, d.alert_id)
        if sub is None or alert is None or not sub.url:
            continue
        ind = session.get(AnalysisIndicator, alert.indicator_id)
        if ind is None:
            continue
        entries: list[dict[str, Any]] = list(d.log or [])
        try:
            check_webhook_url(sub.url, allow_private=settings.analysis_webhook_allow_private)
        except InvalidInput as exc:
            d.status, d.log = "refused", [*entries, {"at": utcnow().isoformat(), "status": None, "error": exc.zh}]
            session.commit()
            continue
        body = json.dumps(payload(alert, ind), ensure_ascii=False).encode()
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            status: int | None = None
            error: str | None = None
            try:
                status = post(sub.url, body, {"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "shudata-analysis"})
            except (httpx.HTTPError, OSError) as exc:
                error = type(exc).__name__
            entries.append({"at": utcnow().isoformat(), "attempt": attempt, "status": status, "error": error})
            d.attempts = attempt
            if status is not None and 200 <= status < 300:
                d.status, d.delivered_at = "sent", utcnow()
                break
            d.status = "failed"
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                break  # the receiver refuses this request: another try would be refused too
            if attempt < WEBHOOK_ATTEMPTS:
                sleep(float(attempt))
        d.log = entries
        session.commit()


_threads: list[threading.Thread] = []


def _after_commit(session: Session, settings: Settings, ids: list[int]) -> None:
    bind = session.get_bind()
    key = "shudata.analysis.webhooks"
    pending: list[int] | None = session.info.get(key)
    if pending is not None:
        pending += ids
        return
    session.info[key] = list(ids)
    if not isinstance(bind, Engine):
        return

    def on_commit(s: Session) -> None:
        todo = s.info.pop(key, None)
        if todo:
            start_sending(bind, settings, todo)

    def on_rollback(s: Session) -> None:
        s.info.pop(key, None)

    event.listen(session, "after_commit", on_commit, once=True)
    event.listen(session, "after_rollback", on_rollback, once=True)


def start_sending(engine: Engine, settings: Settings, ids: list[int]) -> threading.Thread:
    def run() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                send_webhooks(s, settings, ids)
        except Exception:  # a background sender: the deliveries stay pending, shown as such
            log.warning("analysis webhooks not sent: %s", ids, exc_info=True)

    t = threading.Thread(target=run, name="shudata-analysis-webhooks", daemon=True)
    t.start()
    _threads[:] = [x for x in _threads if x.is_alive()] + [t]
    return t


def wait_webhooks(timeout: float = 30.0) -> None:
    """Wait for the background senders (tests)."""
    for t in list(_threads):
        t.join(timeout)
