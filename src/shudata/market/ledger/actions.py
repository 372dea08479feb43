"""Actions of the market ledger (存证账本)."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import Action

_READERS = frozenset({Role.REGULATOR, Role.MARKET_OPERATOR, Role.AUDITOR})

# The regulator (监管) reads every entry, payload included; so do the exchange and the auditors.
LEDGER_READ = Action("market.ledger.read", "查看存证账本", "read the market ledger", roles=_READERS,
                     admin=False)
LEDGER_VERIFY = Action("market.ledger.verify", "校验存证账本", "verify the market ledger", roles=_READERS,
                       admin=False)
LEDGER_SEAL = Action("market.ledger.seal", "签署存证账本检查点", "sign ledger checkpoints",
                     roles=frozenset({Role.MARKET_OPERATOR}), admin=False)
# 存证查询: anyone holding an entry hash learns whether it is on record and signed (never its payload).
LEDGER_PROVE = Action("market.ledger.prove", "存证查询", "look up a ledger entry hash", scope="public")

ACTIONS = (LEDGER_READ, LEDGER_VERIFY, LEDGER_SEAL, LEDGER_PROVE)
