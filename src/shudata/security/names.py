"""Account names: normalisation and the names no account may take.

Internal principals (the platform itself, the anonymous public, peer nodes, portal
developers) are told apart by :class:`~shudata.core.types.ActorKind`, never by name; still,
an account named like one of them would read as that principal in lists, notifications and
the audit trail, so such names are refused on creation, whatever their case, surrounding
blanks or Unicode look-alikes (full-width letters and other compatibility forms are folded
by NFKC first).

>>> normalise_username("  Ｓｙｓｔｅｍ ")
'System'
>>> is_reserved("Ｓｙｓｔｅｍ"), is_reserved("ROOT"), is_reserved("fgw_steward")
(True, True, False)
"""

from __future__ import annotations

import unicodedata

RESERVED_USERNAMES: frozenset[str] = frozenset({
    "system", "anonymous", "root", "sys", "shudata", "platform", "internal", "daemon", "scheduler",
    "cron", "node", "peer", "developer", "token", "service", "nobody", "guest", "superuser",
    "administrator", "postgres", "audit", "security",
})


def normalise_username(name: str) -> str:
    """NFKC-folded (full-width and other compatibility forms to plain ones), blanks trimmed."""
    return unicodedata.normalize("NFKC", name).strip()


def username_key(name: str) -> str:
    """The comparison key of a user name: normalised and case-folded.

    >>> username_key(" Alice ") == username_key("ＡＬＩＣＥ")
    True
    """
    return normalise_username(name).casefold()


def is_reserved(name: str) -> bool:
    """Whether ``name`` is (a variant of) a name kept for internal principals."""
    return username_key(name) in RESERVED_USERNAMES
