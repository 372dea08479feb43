"""Federation checks on receipt, and the message log's tamper evidence."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.security.crypto.sm2 import generate_keypair
from shudata.security.crypto.sm4 import DecryptionError
from shudata.sharing.nodes import log, service
from shudata.sharing.nodes.envelope import make_envelope, sign_envelope
from shudata.sharing.nodes.models import NodeMessage

SYS = Actor.system()
PEER = generate_keypair()


@pytest.fixture
def trusted(rt):
    with rt.transaction() as s:
        service.identity(s, rt.settings)
        service.add_peer(session=s, actor=SYS, code="510100", name="成都市", base_url="http://127.0.0.1:1",
                         public_key=PEER.public_hex)
    return rt


def _signed(env, key=PEER):
    return {"envelope": env, "signature": sign_envelope(env, key.private_hex, key.public_hex)}


def _publish(sender="510100", to="510000", ts=None):
    env = make_envelope("catalog.publish", sender, to, {"entries": [
        {"code": "201001/000001", "name": "成都市企业登记信息", "sharing_type": 1, "provider": "成都市市场监管局"}]})
    if ts is not None:
        env["ts"] = ts
    return env


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        # signed with a key that is not the trusted peer's
        (lambda: _signed(_publish(), key=generate_keypair()), "签名"),
        # a sender the node does not trust
        (lambda: _signed(_publish(sender="513400")), "受信任"),
        # addressed to another node
        (lambda: _signed(_publish(to="510700")), "接收方"),
        # too old: outside the replay window
        (lambda: _signed(_publish(ts=(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat())), "重放窗口"),
    ],
)
def test_bad_messages_are_refused_and_logged(trusted, make, reason):
    rt = trusted
    msg = make()
    with pytest.raises(service.RefusedMessage, match=reason):
        service.handle_inbox(sessions=rt.sessions, settings=rt.settings, **msg)
    with rt.transaction() as s:
        assert service.federated_entries(s) == []
        assert [m.status for m in s.query(NodeMessage)] == ["refused"]
        assert log.verify(s) == []


def test_good_message_applies_once(trusted):
    rt = trusted
    msg = _signed(_publish())
    assert service.handle_inbox(sessions=rt.sessions, settings=rt.settings, **msg) == {"accepted": 1}
    with pytest.raises(service.RefusedMessage, match="重放"):
        service.handle_inbox(sessions=rt.sessions, settings=rt.settings, **msg)
    with rt.transaction() as s:
        assert [e.name for e in service.federated_entries(s)] == ["成都市企业登记信息"]


def test_tampered_message_log_fails_audit_verify(trusted, settings, monkeypatch):
    from typer.testing import CliRunner

    from shudata.cli.main import app

    rt = trusted
    service.handle_inbox(sessions=rt.sessions, settings=rt.settings, **_signed(_publish()))
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    with rt.transaction() as s:
        s.execute(update(NodeMessage).values(sender="510700"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "节点消息日志被破坏" in result.output


def test_node_identity_key_is_wrapped_and_stable(trusted):
    rt = trusted
    with rt.transaction() as s:
        a = service.identity(s, rt.settings)
    with rt.transaction() as s:
        b = service.identity(s, rt.settings)
    assert a.public_key == b.public_key and len(a.public_key) == 128
    other = Settings(env="test", data_dir=rt.settings.data_dir, database_url=rt.settings.database_url,
                     master_key="ff" * 16)
    with pytest.raises(DecryptionError), rt.transaction() as s:  # the wrong master key cannot unwrap
        service.send(session=s, settings=other, peer_code="510100", msg_type="x", body={})
