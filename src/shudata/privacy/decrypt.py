"""Decrypting ``sm4_encrypt`` output: the raw-data rule applied to ciphertext.

Raw data is a department matter (architecture convention 16, decision of 2026-12-06): a
plaintext is raw data of the resource it came from, so only staff of that resource's provider
department who may read it raw (``lake.version.read``) decrypt it — the platform admin, who
holds the keys, included in the refusal. The resource is read from the token:

- **bound** tokens ``k1@101001/000009:<hex>`` (every delivery since this rule) name their
  resource, and the name is part of the key derivation (:func:`~shudata.privacy.operators.udfs.sm4_key`),
  so editing it makes the token fail to decrypt instead of moving it to another department;
- **unbound** tokens ``k1:<hex>`` (written before, and by file masking, which has no resource)
  say nothing of their origin: the caller must name the resource they came from, may decrypt
  only if they may read that resource raw *and* the key is one of that resource's own masking
  policies (``<code>-<profile>``). A key shared with another department's policies still lets
  that department's staff decrypt its old tokens by naming their own resource: rotate shared
  keys (docs/security.md).

Every refusal is a 4xx with a zh-CN message; a success is audited (``privacy.decrypt``) with
the resources and the number of values.

>>> parse_token("k1@101001/000009:00ff")
('k1', '101001/000009')
>>> parse_token("k1:00ff")
('k1', None)
"""

from __future__ import annotations

import re
from collections import defaultdict

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import can_read_data, find_resource, resource_ref
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.privacy import actions, keys
from shudata.privacy.models import PrivacyPolicy
from shudata.privacy.operators.udfs import sm4_key, sm4_prefix
from shudata.privacy.ownership import code_stem
from shudata.privacy.policy import Policy
from shudata.security.authz import allowed, require
from shudata.security.crypto.sm4_vec import DecryptionError, decrypt_many

_AUDIT = {"action": actions.DECRYPT.name}  # refusals are audited under the action
TOKEN_RE = re.compile(r"^(?P<kid>[A-Za-z0-9_\-.]{1,64})(?:@(?P<code>[0-9]{6,12}/[0-9]{1,6}))?:[0-9A-Fa-f]*$")


def parse_token(token: str) -> tuple[str, str | None]:
    """(key id, bound resource code or ``None``) of an SM4 token; ``InvalidInput`` for anything else."""
    m = TOKEN_RE.match(token)
    if m is None:
        raise InvalidInput(f"“{token[:40]}”不是 SM4 脱敏密文（应为 密钥编号[@资源代码]:十六进制）",
                           f"{token[:40]!r} is not an SM4 ciphertext (key_id[@resource_code]:hex)",
                           code="not_sm4_ciphertext", details=_AUDIT)
    return m["kid"], m["code"]


def _deny(res: CatalogResource) -> PermissionDenied:
    return PermissionDenied(
        f"无权解密来自“{res.name}”（{res.code}）的密文：解密得到的是原始数据，仅限该资源提供方部门可读取原始数据的人员，"
        "平台管理员也不例外；其他部门请通过共享申请获取脱敏数据",
        f"Not allowed to decrypt values of {res.code}: a plaintext is raw data, which only the provider department's "
        "staff who may read it raw obtain, and the platform admin is no exception",
        details={"action": actions.DECRYPT.name, "resource_type": "catalog.resource", "resource_id": res.code},
        code="permission_denied")


def _require(actor: Actor, res: CatalogResource) -> None:
    if not actor.is_authenticated:
        require(actor, actions.DECRYPT, resource_ref(res))  # the anonymous: 401
    if not (allowed(actor, actions.DECRYPT, resource_ref(res)) and can_read_data(actor, res)):
        raise _deny(res)


def _bound_resource(session: Session, code: str) -> CatalogResource:
    res = session.scalar(select(CatalogResource).where(CatalogResource.code == code,
                                                       CatalogResource.is_deleted.is_(False)))
    if res is None:
        raise NotFound(f"密文所属的资源 {code} 不在目录中",
                       f"The resource {code} of the ciphertext is not in the catalog", code="resource_not_found",
                       details=_AUDIT)
    return res


def resource_key_ids(session: Session, res: CatalogResource) -> set[str]:
    """Key ids used by the masking policies of ``res`` (``<code>-<profile>``)."""
    rows = session.scalars(select(PrivacyPolicy).where(PrivacyPolicy.name.like(f"{code_stem(res.code)}-%")))
    return {k for row in rows for k in Policy.parse(row.body).key_ids()}


def _check_unbound(session: Session, actor: Actor, named: CatalogResource | None, kids: set[str]) -> None:
    if named is None:
        raise InvalidInput("旧格式密文（形如 k1:…）没有标明来自哪个资源：请同时指明来源资源（resource），"
                           "仅该资源提供方部门可读取原始数据的人员可以解密",
                           "Old-format ciphertext (k1:…) does not say which resource it came from: name the resource "
                           "(resource); only its provider department's staff who may read it raw decrypt it",
                           code="decrypt_resource_required", details=_AUDIT)
    _require(actor, named)
    foreign = sorted(kids - resource_key_ids(session, named))
    if foreign:
        raise PermissionDenied(
            f"密钥 {'、'.join(foreign)} 不属于“{named.name}”（{named.code}）的脱敏策略：旧格式密文只能按其来源资源解密",
            f"Key(s) {', '.join(foreign)} are not used by the masking policies of {named.code}: old-format "
            "ciphertext decrypts only through the resource it came from",
            details={"action": actions.DECRYPT.name, "resource_type": "catalog.resource", "resource_id": named.code},
            code="decrypt_key_not_bound")


def decrypt_tokens(*, session: Session, actor: Actor, settings: Settings, tokens: list[str | None],
                   resource: str | None = None) -> list[str | None]:
    """Plaintexts of ``tokens`` (``None`` stays ``None``) for the staff of their provider department.

    ``resource`` (code or alias) names the origin of unbound tokens; bound ones must agree with it.
    """
    if not actor.is_authenticated:
        require(actor, actions.DECRYPT)  # 401
    groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for i, t in enumerate(tokens):
        if t:
            groups[parse_token(t)].append(i)
    named = find_resource(session, resource) if resource else None
    for code in sorted({c for _, c in groups if c is not None}):
        res = _bound_resource(session, code)
        if named is not None and named.id != res.id:
            raise InvalidInput(f"密文来自资源 {code}，不是所指明的 {named.code}",
                               f"The ciphertext comes from {code}, not from {named.code}",
                               code="decrypt_resource_mismatch", details=_AUDIT)
        _require(actor, res)
    unbound = {k for k, c in groups if c is None}
    if unbound:
        _check_unbound(session, actor, named, unbound)
    elif named is not None:
        _require(actor, named)
    if not groups:
        return [None] * len(tokens)
    ring = keys.load(session, settings, {k for k, _ in groups})
    arr = pa.array(tokens, type=pa.string())
    out: list[str | None] = [None] * len(tokens)
    for (kid, origin), idx in groups.items():
        try:
            plain = decrypt_many(sm4_key(ring[kid], origin), arr.take(pa.array(idx)),
                                 prefix=sm4_prefix(kid, origin)).to_pylist()
        except DecryptionError:
            raise InvalidInput("密文无法解密：密钥不匹配、来源资源不符或密文被篡改",
                               "Cannot decrypt: wrong key, another resource's value or a tampered value",
                               code="decryption_failed", details=_AUDIT) from None
        for i, p in zip(idx, plain, strict=True):
            out[i] = p
    origins = sorted({c or (named.code if named else "") for _, c in groups})
    record(session, actor, events.PrivacyDecrypt(
        resource_id=",".join(sorted({k for k, _ in groups}))[:200],
        details={"values": sum(len(v) for v in groups.values()), "resources": origins,
                 "unbound": sum(len(v) for (_, c), v in groups.items() if c is None)}))
    return out
