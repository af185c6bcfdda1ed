"""Policies at rest: read, write, delete and list them, and build (and cache) the ACL for a set of names.

Layer: policy. Imports logical.storage, util (clock, policy names), errors and the policy modules.
Policies live in the storage given to the store, one JSON record per policy under "policy/<name>".

Invariant: "root" is never stored and cannot be written or deleted; "default" cannot be deleted;
"response-wrapping" is written only by `ensure_default`, as Vault's built-in text.
Invariant: every write or delete drops the cached ACLs, so no decision is made on a replaced policy.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

from strongroom.errors import InvalidRequestError
from strongroom.logical.storage import Storage, get_json, put_json
from strongroom.policy.acl import ACL
from strongroom.policy.default import DEFAULT_POLICY, RESPONSE_WRAPPING_POLICY
from strongroom.policy.model import Policy
from strongroom.policy.parser import parse_policy
from strongroom.util.clock import Clock, SystemClock
from strongroom.util.policies import policy_name

__all__ = ["PolicyStore"]

_PREFIX = "policy/"
# Vault's built-in policy for response-wrapping tokens: stored by the store itself, never listed, and
# neither written nor deleted through the API.
_RESPONSE_WRAPPING = "response-wrapping"
_ROOT = Policy(name="root", raw="")

_CacheKey = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]


class PolicyStore:
    """ACL policies persisted in `storage`, with parsed policies and compiled ACLs cached in memory."""

    def __init__(self, storage: Storage, *, clock: Clock | None = None, cache_size: int = 1024) -> None:
        self._storage = storage
        self._clock = clock or SystemClock()
        self._cache_size = cache_size
        self._policies: dict[str, Policy | None] = {}
        self._acls: OrderedDict[_CacheKey, ACL] = OrderedDict()

    def invalidate(self) -> None:
        """Forget every cached policy and ACL (another node changed the policies)."""
        self._policies.clear()
        self._acls.clear()

    async def get(self, name: str) -> Policy | None:
        """The policy called `name`, or None. "root" is answered with an empty policy, as Vault does."""
        name = policy_name(name)
        if name == "root":
            return _ROOT
        if name in self._policies:
            return self._policies[name]
        record = await get_json(self._storage, _PREFIX + name)
        policy = None
        if record is not None:
            parsed = parse_policy(name, record["raw"])
            policy = Policy(
                name=name,
                raw=parsed.raw,
                rules=parsed.rules,
                version=int(record.get("version", 1)),
                modified=float(record.get("modified", 0.0)),
            )
        self._policies[name] = policy
        return policy

    async def put(self, name: str, text: str) -> Policy:
        """Validate `text` and store it as policy `name`; raise InvalidRequestError with Vault's message."""
        name = policy_name(name)
        if name in ("root", _RESPONSE_WRAPPING):
            raise InvalidRequestError(f'cannot update "{name}" policy')
        parsed = parse_policy(name, text)
        previous = await get_json(self._storage, _PREFIX + name)
        version = int(previous.get("version", 1)) + 1 if previous else 1
        modified = self._clock.now()
        await put_json(
            self._storage,
            _PREFIX + name,
            {"name": name, "raw": text, "version": version, "modified": modified},
        )
        self.invalidate()
        policy = Policy(name=name, raw=text, rules=parsed.rules, version=version, modified=modified)
        self._policies[name] = policy
        return policy

    async def delete(self, name: str) -> None:
        """Remove policy `name`; a missing policy is not an error. "root" and "default" cannot be removed."""
        name = policy_name(name)
        if name == "default":
            raise InvalidRequestError("cannot delete default policy")
        if name in ("root", _RESPONSE_WRAPPING):
            raise InvalidRequestError(f'cannot delete "{name}" policy')
        await self._storage.delete(_PREFIX + name)
        self.invalidate()

    async def list(self) -> list[str]:
        """Stored names level by level (as Vault collects keys), then "root", as sys/policy lists them."""
        names: list[str] = []
        folders = [""]
        while folders:
            folder = folders.pop(0)
            for child in await self._storage.list(_PREFIX + folder):
                if child.endswith("/"):
                    folders.append(folder + child)
                else:
                    names.append(folder + child)
        return [*(name for name in names if name != _RESPONSE_WRAPPING), "root"]

    async def acl(self, names: Sequence[str], *, identity: Mapping[str, str] | None = None) -> ACL:
        """The ACL for a token holding policies `names`; names without a stored policy grant nothing.

        `identity` fills templated paths (see `ACL`); it is part of the cache key.
        """
        wanted = tuple(sorted({policy_name(name) for name in names}))
        key: _CacheKey = (wanted, tuple(sorted((identity or {}).items())))
        now = self._clock.now()
        cached = self._acls.get(key)
        if cached is not None and (cached.valid_until is None or now < cached.valid_until):
            self._acls.move_to_end(key)
            return cached
        policies = [policy for name in wanted if (policy := await self.get(name)) is not None]
        acl = ACL(policies, identity=identity, now=now)
        self._acls[key] = acl
        if len(self._acls) > self._cache_size:
            self._acls.popitem(last=False)
        return acl

    async def ensure_default(self) -> None:
        """Write OpenBao's default policy when no "default" policy is stored, and the built-in
        response-wrapping policy unless it is stored as Vault has it."""
        if await self.get("default") is None:
            await self.put("default", DEFAULT_POLICY)
        wrapping = await self.get(_RESPONSE_WRAPPING)
        if wrapping is None or wrapping.raw != RESPONSE_WRAPPING_POLICY:
            record = {"name": _RESPONSE_WRAPPING, "raw": RESPONSE_WRAPPING_POLICY, "version": 1}
            await put_json(
                self._storage, _PREFIX + _RESPONSE_WRAPPING, record | {"modified": self._clock.now()}
            )
            self.invalidate()
