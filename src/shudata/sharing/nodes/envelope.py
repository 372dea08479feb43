"""Signed envelopes exchanged between nodes.

An envelope is ``{"id", "type", "from", "to", "ts", "body"}``; the signature is SM2 over
its canonical JSON (sorted keys, no spaces, UTF-8). Receivers check the sender is a
trusted peer, the signature, that ``to`` is themselves, that ``ts`` lies within the
replay window and that the id was never seen.

>>> from shudata.security.crypto.sm2 import generate_keypair
>>> kp = generate_keypair()
>>> env = make_envelope("catalog.publish", "510100", "510000", {"n": 1})
>>> sig = sign_envelope(env, kp.private_hex, kp.public_hex)
>>> verify_envelope(env, sig, kp.public_hex)
True
>>> verify_envelope({**env, "body": {"n": 2}}, sig, kp.public_hex)
False
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from shudata.core.clock import utcnow
from shudata.security.crypto import sm2

REPLAY_WINDOW = dt.timedelta(minutes=5)


def canonical(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def make_envelope(msg_type: str, sender: str, recipient: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": msg_type, "from": sender, "to": recipient,
            "ts": utcnow().isoformat(timespec="milliseconds"), "body": body}


def sign_envelope(envelope: dict[str, Any], private_hex: str, public_hex: str) -> str:
    return sm2.sign(private_hex, public_hex, canonical(envelope))


def verify_envelope(envelope: dict[str, Any], signature: str, public_hex: str) -> bool:
    return sm2.verify(public_hex, canonical(envelope), signature)


def within_window(ts: str, now: dt.datetime | None = None) -> bool:
    try:
        sent = dt.datetime.fromisoformat(ts)
    except (TypeError, ValueError):
        return False
    if sent.tzinfo is None:
        return False
    return abs((now or utcnow()) - sent) <= REPLAY_WINDOW
