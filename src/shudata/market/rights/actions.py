"""Actions of rights registration (确权登记)."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import Action

# A participant's accounts apply for their own participant (checked in the service); a department
# selling under 授权运营 applies through its data stewards, as it trades.
RIGHTS_APPLY = Action("market.rights.apply", "申请数据确权登记", "apply for rights registration",
                      roles=frozenset({Role.MARKET_MEMBER, Role.DATA_STEWARD}), admin=False)
# Compliance review, objections' decisions, conclusion and direct revocation: the exchange.
RIGHTS_REVIEW = Action("market.rights.review", "审查确权登记与异议", "review rights registrations",
                       roles=frozenset({Role.MARKET_OPERATOR}), admin=False)
# Anyone logged in may object during the public notice.
RIGHTS_OBJECT = Action("market.rights.object", "对公示中的登记提出异议", "object to a registration in notice",
                       scope="authenticated")
# Registrations with their evidence: the participants concerned (checked in the service), the exchange,
# the regulator.
RIGHTS_VIEW = Action("market.rights.view", "查看确权登记", "view rights registrations",
                     roles=frozenset({Role.MARKET_MEMBER, Role.DATA_STEWARD, Role.MARKET_OPERATOR, Role.REGULATOR}),
                     admin=False)
# Every registration and licence, not only the actor's participant's: the exchange and the regulator.
RIGHTS_VIEW_ALL = Action("market.rights.view.all", "查看全部确权登记与许可", "view every registration and licence",
                         roles=frozenset({Role.MARKET_OPERATOR, Role.REGULATOR}), admin=False)
# The public notice list and the certificate verification page.
RIGHTS_VERIFY = Action("market.rights.verify", "查验登记证书与公示", "verify certificates and read notices",
                       scope="public")

ACTIONS = (RIGHTS_APPLY, RIGHTS_REVIEW, RIGHTS_OBJECT, RIGHTS_VIEW, RIGHTS_VIEW_ALL, RIGHTS_VERIFY)
