"""The indicator store on the real NBS provincial GDP export (tests/data/economy): the long form on ingest,
SQL / series / formula indicators computed as the owner department, values with their lake versions,
trace to the source cell, recompute on a new version, alerts and their deliveries, cycles refused,
visibility by publication profile, an indicator is no way around a department's read rights."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from shudata.analysis import alerts, service, store
from shudata.analysis.models import AnalysisAlert, AnalysisDelivery, AnalysisIndicator, AnalysisRecompute
from shudata.analysis.schemas import IndicatorWrite, RuleWrite, SubscriptionWrite
from shudata.catalog.access import find_resource
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor, Role
from shudata.demo import loader
from shudata.demo.entries import ECONOMY_ENTRIES
from shudata.jobs.ingest import ingest_file
from shudata.lake.ingest.source import IngestOptions

DATA = Path(__file__).resolve().parents[2] / "data" / "economy" / "nbs_province_annual_gbk"
SYSTEM = Actor.system()
GDP = "201001/000001"
UNPIVOT = (f'SELECT "地区" AS region, period, value FROM (UNPIVOT "{GDP}" ON COLUMNS(* EXCLUDE ("地区")) '
           "INTO NAME period VALUE value)")


@pytest.fixture
def econ(rt, make_department, make_user):
    tjj = make_department("省统计局")
    env = make_department("省生态环境厅")
    people = {"steward": make_user("tjj_steward", Role.DATA_STEWARD, department_id=tjj),
              "user": make_user("tjj_user", Role.DEPT_USER, department_id=tjj),
              "other": make_user("sthj_steward", Role.DATA_STEWARD, department_id=env)}
    entry = next(e for e in ECONOMY_ENTRIES if e.code == GDP)
    with rt.transaction() as s:
        loader.ensure_entry(s, entry)
        service.declare_layout(s, SYSTEM, GDP, {"kind": "nbs"})
    loader.ensure_data(rt, entry)
    return {"tjj": tjj, "env": env, **people}


def _define(rt, actor, code, definition, *, name=None, unit="亿元", publication="open", parent=None, dept=None,
            frequency="年"):
    with rt.transaction() as s:
        return service.create_indicator(s, actor, IndicatorWrite.model_validate({
            "code": code, "name": name or code, "unit": unit, "frequency": frequency, "region_level": "省",
            "definition": definition, "publication": publication, "parent": parent, "owner_department_id": dept}))


def _recompute(rt):
    with rt.transaction() as s:
        return service.run_recompute(s, rt.settings, SYSTEM)


def _value(rt, code, region, period):
    with rt.transaction() as s:
        page = service.values(s, SYSTEM, code, region=region, period_from=period, period_to=period)
        return page.items[0] if page.items else None


def test_long_form_sql_series_and_formula_agree_and_trace_to_the_cell(rt, econ):
    with rt.transaction() as s:
        res = find_resource(s, GDP)
        long = store.read_long(rt.settings, res.id, 1)
    sc = [r for r in long.to_pylist() if r["region_code"] == "510000" and r["period"] == "2024"]
    assert sc and sc[0]["value"] == 64537.9 and sc[0]["source_column"] == "2024年"

    steward = econ["steward"]
    _define(rt, steward, "GDP", {"kind": "sql", "sql": UNPIVOT})
    _define(rt, steward, "GDP.S", {"kind": "series", "resource": GDP, "indicator": "地区生产总值"})
    _define(rt, steward, "GDP.G", {"kind": "formula", "op": "yoy", "inputs": ["GDP"]}, unit="%")
    run = _recompute(rt)
    assert run.errors == [] and set(run.indicators) == {"GDP", "GDP.S", "GDP.G"}
    assert run.indicators.index("GDP") < run.indicators.index("GDP.G")  # dependency order
    a, b = _value(rt, "GDP", "510000", "2024"), _value(rt, "GDP.S", "510000", "2024")
    assert a.value == b.value == 64537.9
    assert a.sources[0]["code"] == GDP and a.sources[0]["version"] == 1
    g = _value(rt, "GDP.G", "510000", "2024")
    assert g.value == pytest.approx((64537.9 / 61353.4 - 1) * 100)

    with rt.transaction() as s:
        t = service.trace(s, rt.settings, steward, "GDP.S", "510000", "2024")
        ft = service.trace(s, rt.settings, steward, "GDP.G", "510000", "2024")
    cell = t["cells"][0]
    assert (cell["column"], cell["value"], cell["file"]) == ("2024年", 64537.9, "gdp_100m_yuan.csv")
    raw = (DATA / "gdp_100m_yuan.csv").read_bytes().decode("gbk").splitlines()
    assert raw[cell["row"] - 1].startswith("四川省,64537.9")  # the file's own line
    assert ft["inputs"][0]["code"] == "GDP" and ft["inputs"][0]["values"][0] == {"period": "2024", "value": 64537.9}


def test_a_cycle_is_refused_and_nothing_changes(rt, econ):
    steward = econ["steward"]
    _define(rt, steward, "A", {"kind": "sql", "sql": UNPIVOT})
    _define(rt, steward, "B", {"kind": "formula", "op": "yoy", "inputs": ["A"]})
    with pytest.raises(Conflict) as exc, rt.transaction() as s:
        service.update_indicator(s, steward, "A", IndicatorWrite.model_validate({
            "code": "A", "name": "A", "definition": {"kind": "formula", "op": "mom", "inputs": ["B"]}}))
    assert exc.value.code == "analysis_cycle"
    assert "A → B → A" in exc.value.zh or "B → A → B" in exc.value.zh
    with rt.transaction() as s:
        assert s.scalar(select(AnalysisIndicator.kind).where(AnalysisIndicator.code == "A")) == "sql"
    with pytest.raises(InvalidInput), rt.transaction() as s:
        service.create_indicator(s, steward, IndicatorWrite.model_validate({
            "code": "C", "name": "C", "definition": {"kind": "formula", "op": "per_capita", "inputs": ["A"]}}))


def _changed_file(tmp_path: Path, sichuan_2024: str) -> Path:
    text = (DATA / "gdp_100m_yuan.csv").read_bytes().decode("gbk")
    out = tmp_path / "gdp_100m_yuan.csv"
    out.write_bytes(text.replace("四川省,64537.9,", f"四川省,{sichuan_2024},").encode("gbk"))
    return out


def test_a_new_version_recomputes_raises_an_alert_and_notifies(rt, econ, tmp_path):
    steward, user, other = econ["steward"], econ["user"], econ["other"]
    _define(rt, steward, "GDP", {"kind": "series", "resource": GDP, "indicator": "地区生产总值"})
    _define(rt, steward, "GDP.G", {"kind": "formula", "op": "yoy", "inputs": ["GDP"]}, unit="%")
    _define(rt, steward, "UNRELATED", {"kind": "sql", "sql": "SELECT '510000' AS region_code, 2020 AS period, "
                                                            "1.0 AS value"})
    with rt.transaction() as s:
        service.create_rule(s, steward, "GDP.G", RuleWrite(name="名义负增长超过 10%", kind="level",
                                                           params={"op": "<", "value": -10}, severity="严重"))
        service.subscribe(s, rt.settings, steward, SubscriptionWrite(channel="inapp", indicator="GDP.G"))
    _recompute(rt)
    with rt.transaction() as s:
        assert s.scalar(select(AnalysisAlert.id)) is None  # no province fell by 10 % in 2024

    path = _changed_file(tmp_path, "50000.0")
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=steward, resource_code=GDP, path=path,
                    options=IngestOptions(comment="修订"))
    with rt.transaction() as s:
        run = s.scalars(select(AnalysisRecompute).order_by(AnalysisRecompute.id.desc())).first()
        assert (run.trigger, run.version) == ("version", 2)
        assert run.indicators == ["GDP", "GDP.G"]  # the affected ones and their dependants only
        alert = s.scalars(select(AnalysisAlert)).one()
        assert (alert.region_code, alert.period, alert.severity) == ("510000", "2024", "严重")
        assert alert.value == pytest.approx((50000 / 61353.4 - 1) * 100)
        assert "四川省" in alert.message_zh
        d = s.scalars(select(AnalysisDelivery)).one()
        assert (d.channel, d.status, d.user_id) == ("inapp", "unread", steward.user_id)
    assert _value(rt, "GDP", "510000", "2024").sources[0]["version"] == 2

    with rt.transaction() as s:
        assert [n.alert.id for n in service.notices(s, steward, unread_only=True)] == [alert.id]
    with pytest.raises(PermissionDenied), rt.transaction() as s:
        service.ack_alert(s, other, alert.id)  # another department sees the open indicator, cannot ack
    with rt.transaction() as s:
        acked = service.ack_alert(s, user, alert.id, "已核实：修订数")
    assert acked.acknowledged_by == "tjj_user" and acked.acknowledged_at is not None
    with pytest.raises(Conflict), rt.transaction() as s:
        service.ack_alert(s, steward, alert.id)
    with rt.transaction() as s:
        assert service.notices(s, steward, unread_only=True) == []
        # the same version again: nothing new, no second alert
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=steward, resource_code=GDP, path=path)
    with rt.transaction() as s:
        assert len(s.scalars(select(AnalysisAlert)).all()) == 1


def test_an_indicator_is_no_way_around_read_rights(rt, econ):
    other = econ["other"]
    _define(rt, other, "PEEK.SQL", {"kind": "sql", "sql": UNPIVOT}, dept=econ["env"])
    _define(rt, other, "PEEK.SERIES", {"kind": "series", "resource": GDP, "indicator": "地区生产总值"},
            dept=econ["env"])
    run = _recompute(rt)
    errors = {e["indicator"]: e for e in run.errors}
    assert errors["PEEK.SQL"]["code"] == "permission_denied"
    assert errors["PEEK.SERIES"]["code"] == "analysis_source_denied"
    with rt.transaction() as s:
        assert service.values(s, SYSTEM, "PEEK.SQL").total == 0
        assert "原始数据" in s.scalar(select(AnalysisIndicator.compute_error)
                                   .where(AnalysisIndicator.code == "PEEK.SERIES"))
    with pytest.raises(PermissionDenied), rt.transaction() as s:  # and nobody defines for another department
        service.create_indicator(s, other, IndicatorWrite.model_validate({
            "code": "X", "name": "X", "definition": {"kind": "group"}, "owner_department_id": econ["tjj"]}))


def test_publication_decides_who_sees_an_indicator(rt, econ):
    steward, other = econ["steward"], econ["other"]
    _define(rt, steward, "OPEN", {"kind": "group"}, publication="open")
    _define(rt, steward, "SHARED", {"kind": "group"}, publication="share-conditional", parent="OPEN")
    _define(rt, steward, "INTERNAL", {"kind": "group"}, publication="internal", parent="OPEN")
    anonymous = Actor.anonymous()
    with rt.transaction() as s:
        assert [i.code for i in service.list_indicators(s, anonymous, tree=False)] == ["OPEN"]
        assert {i.code for i in service.list_indicators(s, other, tree=False)} == {"OPEN", "SHARED"}
        tree = service.list_indicators(s, steward)
        assert [i.code for i in tree] == ["OPEN"] and {c.code for c in tree[0].children} == {"SHARED", "INTERNAL"}
        with pytest.raises(NotFound):
            service.show_indicator(s, other, "INTERNAL")
        with pytest.raises(NotFound):
            service.show_indicator(s, anonymous, "SHARED")


def test_webhook_urls_are_checked_against_ssrf():
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/x", "http://192.168.0.9/",
                "http://169.254.169.254/latest/meta-data", "http://[::1]/x", "ftp://example.org/x", "file:///etc/passwd"):
        with pytest.raises(InvalidInput):
            alerts.check_webhook_url(url, allow_private=False)
    alerts.check_webhook_url("https://93.184.216.34/hook", allow_private=False)
    alerts.check_webhook_url("http://127.0.0.1:8080/x", allow_private=True)
    with pytest.raises(InvalidInput):
        alerts.check_webhook_url("gopher://127.0.0.1/", allow_private=True)


def test_webhook_deliveries_retry_a_bounded_number_of_times(rt, econ):
    steward = econ["steward"]
    _define(rt, steward, "GDP", {"kind": "series", "resource": GDP, "indicator": "地区生产总值"})
    with rt.transaction() as s:
        service.create_rule(s, steward, "GDP", RuleWrite(name="高于 9 万亿", kind="level",
                                                         params={"op": ">", "value": 90000}))
        sub = service.subscribe(s, rt.settings, steward, SubscriptionWrite(channel="webhook",
                                                                           url="https://93.184.216.34/hook"))
    started = []
    alerts_start = alerts.start_sending
    try:  # capture the after-commit sending instead of posting for real
        alerts.start_sending = lambda engine, settings, ids: started.append(ids)  # type: ignore[assignment]
        _recompute(rt)
    finally:
        alerts.start_sending = alerts_start
    assert started and len(started[0]) >= 1  # 广东 and 江苏 passed 9 万亿 in 2024
    answers = iter([500, 502, 200] + [404] * 10)
    posted: list[bytes] = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        posted.append(body)
        return next(answers)

    with rt.transaction() as s:
        alerts.send_webhooks(s, rt.settings, started[0], post=post, sleep=lambda _s: None)
    with rt.transaction() as s:
        ds = s.scalars(select(AnalysisDelivery).where(AnalysisDelivery.subscription_id == sub.id)
                       .order_by(AnalysisDelivery.id)).all()
        assert (ds[0].status, ds[0].attempts, [e["status"] for e in ds[0].log]) == ("sent", 3, [500, 502, 200])
        assert all((d.status, d.attempts) == ("failed", 1) for d in ds[1:])  # a 404 is not retried
    assert "地区生产总值" in posted[0].decode() or "GDP" in posted[0].decode()


def test_a_webhook_is_posted_after_the_commit(rt, econ, tmp_path):
    """A real HTTP receiver on this machine (allowed by ``analysis_webhook_allow_private``) gets the alert as
    JSON from the background sender once the new version's transaction commits."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        steward = econ["steward"]
        settings = rt.settings.model_copy(update={"analysis_webhook_allow_private": True})
        _define(rt, steward, "GDP", {"kind": "series", "resource": GDP, "indicator": "地区生产总值"})
        with rt.transaction() as s:
            service.create_rule(s, steward, "GDP", RuleWrite(name="四川低于 6 万亿", kind="level",
                                                             params={"op": "<", "value": 60000,
                                                                     "region_code": "510000"}))
            with pytest.raises(InvalidInput):  # not without the setting
                service.subscribe(s, rt.settings, steward, SubscriptionWrite(
                    channel="webhook", url=f"http://127.0.0.1:{server.server_port}/hook"))
            service.subscribe(s, settings, steward, SubscriptionWrite(
                channel="webhook", url=f"http://127.0.0.1:{server.server_port}/hook"))
        with rt.transaction() as s:
            service.run_recompute(s, settings, SYSTEM)
        with rt.transaction() as s:
            ingest_file(session=s, settings=settings, actor=steward, resource_code=GDP,
                        path=_changed_file(tmp_path, "50000.0"))
        alerts.wait_webhooks()
        assert [(g["indicator"], g["region_code"], g["period"], g["value"]) for g in got] == [
            ("GDP", "510000", "2024", 50000.0)]
        with rt.transaction() as s:
            d = s.scalars(select(AnalysisDelivery)).one()
            assert (d.status, d.attempts, d.log[0]["status"]) == ("sent", 1, 204)
    finally:
        server.shutdown()


def test_a_layout_declared_after_the_data_reshapes_the_stored_version(rt, econ):
    """The population export was ingested before its resource declared a layout: declaring it reshapes the
    lake's table (the title lines are gone, so the layout names the indicator), rows numbered as the file's."""
    pop = next(e for e in ECONOMY_ENTRIES if e.code == "201001/000002")
    with rt.transaction() as s:
        loader.ensure_entry(s, pop)
    loader.ensure_data(rt, pop)
    with pytest.raises(InvalidInput), rt.transaction() as s:  # rows are regions and nothing names the indicator
        service.declare_layout(s, econ["steward"], pop.code, {"kind": "nbs"}, rt.settings)
    with rt.transaction() as s:
        assert store.layout_of(s, find_resource(s, pop.code).id) is None  # nothing saved
        service.declare_layout(s, econ["steward"], pop.code, {"kind": "nbs", "indicator": "人口抽样调查人数(人)"},
                               rt.settings)
    _define(rt, econ["steward"], "POP", {"kind": "series", "resource": pop.code, "indicator": "人口抽样调查人数"},
            unit="人")
    assert _recompute(rt).errors == []
    assert _value(rt, "POP", "510000", "2024").value == 86091
    with rt.transaction() as s:
        cell = service.trace(s, rt.settings, econ["steward"], "POP", "510000", "2024")["cells"][0]
    raw = (DATA / "population_sample_survey_persons.csv").read_bytes().decode("gbk").splitlines()
    assert raw[cell["row"] - 1].startswith("四川省,,86091,")
