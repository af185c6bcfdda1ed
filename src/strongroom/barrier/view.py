"""A view: the Storage of one mount, every key under a prefix of its own. Layer: barrier.

Imports logical.storage (the Storage protocol it implements), physical.keys and errors only.

Invariant: a key with a ".." or "." segment is refused, so no key given to a view can reach outside its
prefix; a sub-view only ever narrows the prefix. A key no backend can hold (control characters) is never
passed down: reading or deleting it finds nothing, writing it is refused.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from strongroom.errors import StorageError
from strongroom.logical.storage import Storage, write_together
from strongroom.physical.keys import check_key, check_prefix, readable_key


class BarrierView:
    """Storage that prefixes every key with `prefix` before reaching the `storage` below it."""

    def __init__(self, storage: Storage, prefix: str) -> None:
        check_prefix(prefix)
        if prefix and not prefix.endswith("/"):
            raise StorageError(f"view prefix {prefix!r} must end with '/'")
        self._storage = storage
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"BarrierView({self.prefix!r})"

    def sub_view(self, prefix: str) -> BarrierView:
        """A view of the keys under `prefix` inside this one."""
        return BarrierView(self._storage, self.prefix + check_prefix(prefix))

    async def get(self, key: str) -> bytes | None:
        readable = readable_key(key)
        if readable is None:
            return None
        return await self._storage.get(self.prefix + readable)

    async def put(self, key: str, value: bytes) -> None:
        await self._storage.put(self.prefix + check_key(key), value)

    async def delete(self, key: str) -> None:
        readable = readable_key(key)
        if readable is None:
            return
        await self._storage.delete(self.prefix + readable)

    async def transaction(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        """`puts` and `deletes` inside the view, applied together (see logical.storage.write_together)."""
        prefix = self.prefix
        await write_together(
            self._storage,
            {prefix + check_key(key): value for key, value in puts.items()},
            [prefix + check_key(key) for key in deletes],
        )

    async def list(self, prefix: str) -> builtins.list[str]:
        return await self._storage.list(self.prefix + check_prefix(prefix))

    async def clear(self) -> None:
        """Delete every key under this view's prefix, however deeply nested."""
        pending = [""]
        while pending:
            folder = pending.pop()
            for child in await self.list(folder):
                if child.endswith("/"):
                    pending.append(folder + child)
                else:
                    await self.delete(folder + child)


async def write_views(writes: Sequence[tuple[Storage, dict[str, bytes]]]) -> None:
    """Each view's puts (keys inside that view), applied in one atomic write when every view is a
    BarrierView over the same storage (one commit); otherwise view by view, in the order given."""
    views = [view for view, _ in writes if isinstance(view, BarrierView)]
    if not views or len(views) != len(writes) or any(v._storage is not views[0]._storage for v in views):
        for storage, puts in writes:
            await write_together(storage, puts)
        return
    together: dict[str, bytes] = {}
    for view, (_, puts) in zip(views, writes, strict=True):
        for key, value in puts.items():
            together[view.prefix + check_key(key)] = value
    await write_together(views[0]._storage, together)
