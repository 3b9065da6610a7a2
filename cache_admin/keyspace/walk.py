"""The walk behind every key listing: SCAN rounds over every primary node, bounded by a
budget of keys examined, and the cursor token of where each node stands (P5)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.keyspace import names
from cache_admin.keyspace.cursor import NodeCursor, decode, encode, key_hash
from cache_admin.keyspace.ids import StoredPrefix, stored_prefix


@dataclass
class Walk:
    """A SCAN of every primary node in turn, one batch each, bounded by a budget of keys
    examined; ``cursor`` is the token of where every node stands (``keyspace.cursor``)."""

    clients: list[redis.Redis]
    match: str
    budget: int
    nodes: list[NodeCursor] = field(default_factory=list)
    scanned: int = 0
    calls: int = 0
    redis_type: str | None = None
    hidden: bytes | None = None  # stored prefix left out (the package's own keys)
    covered: StoredPrefix | None = None  # with ``<id>``: SCAN MATCH lets through more
    seen: set[bytes] = field(default_factory=set)
    turn: int = 0  # the node whose batch comes next
    last: tuple[int, int, int] = (0, 0, 0)  # node, position and COUNT of the last batch

    def __post_init__(self) -> None:
        if not self.nodes:
            self.nodes = [NodeCursor() for _ in self.clients]

    @property
    def done(self) -> bool:
        return all(node.done for node in self.nodes)

    @property
    def cursor(self) -> str:
        return encode(self.nodes)

    def _next_node(self) -> int:
        count = len(self.nodes)
        for step in range(count):
            node = (self.turn + step) % count
            if not self.nodes[node].done:
                return node
        raise AssertionError("a finished walk has no next node")

    def batches(self, count: int, wanted: int | None = None) -> Iterator[tuple[int, list[bytes]]]:
        """Yield (node, new keys) until the budget is spent, the scan ends, or ``wanted`` keys.

        A round sends one SCAN to every node not done before reading any reply, so the nodes
        of a cluster scan side by side; the round's batches are then yielded node by node.
        With ``wanted``, the first round asks one node: on a dense prefix its batch fills
        the page alone.
        A batch not yet yielded when ``wanted`` keys are found is dropped and its node's
        cursor stays where it was: the next page asks for that batch again.

        An empty batch is normal on a sparse match and never ends the walk; instead the
        COUNT hint grows, so a rare key far into a large keyspace is still reached.
        """
        found = 0
        scan_count = conf.SCAN_COUNT
        alone = wanted is not None
        while not self.done and self.scanned < self.budget:
            if wanted is not None and found >= wanted:
                return
            plan = self._plan(count)[:1] if alone else self._plan(count)
            alone = False
            replies = self._scan(plan)
            for (node, before, step), (position, batch) in zip(plan, replies, strict=True):
                if wanted is not None and found >= wanted:
                    return
                state = self.nodes[node]
                after = state.after
                self.calls += 1
                self.scanned += step
                self.last = (node, before, step)
                self.turn = node + 1
                state.position, state.count, state.after = position, None, None
                state.done = position == 0
                keys = self._kept(batch, after)
                found += len(keys)
                yield node, keys
            if wanted is not None and found < wanted:
                count = min(count * 2, scan_count)

    def _plan(self, count: int) -> list[tuple[int, int, int]]:
        """(node, position, COUNT) of the next round: each node not done, in turn, with its
        share of what is left of the budget (a batch a page cut is asked for again whole)."""
        total = len(self.nodes)
        order = [(self.turn + step) % total for step in range(total)]
        active = [node for node in order if not self.nodes[node].done]
        left = self.budget - self.scanned
        share = max(1, min(count, -(-left // len(active))))
        plan: list[tuple[int, int, int]] = []
        for node in active:
            if left <= 0:
                break
            state = self.nodes[node]
            step = state.count or min(share, left)
            plan.append((node, state.position, step))
            left -= step
        return plan

    def _scan(self, plan: list[tuple[int, int, int]]) -> list[tuple[int, list[Any]]]:
        """The round's SCAN replies (next position, keys), in plan order. On several nodes
        every command is sent before any reply is read."""
        if len(plan) == 1:
            node, position, step = plan[0]
            found, batch = self.clients[node].scan(
                position, match=self.match, count=step, _type=self.redis_type
            )
            return [(int(found), batch)]
        args: list[Any] = ["MATCH", self.match]
        if self.redis_type:
            args += ["TYPE", self.redis_type]
        sent: list[tuple[Any, Any]] = []
        try:
            for node, position, step in plan:
                pool = self.clients[node].connection_pool
                connection = _connection(pool)
                sent.append((pool, connection))
                connection.send_command("SCAN", position, *args, "COUNT", step)
            replies = []
            for _pool, connection in sent:
                position, batch = connection.read_response()
                replies.append((int(position), batch))
            return replies
        except BaseException:
            for _pool, connection in sent:  # replies may be left unread: start afresh
                connection.disconnect()
            raise
        finally:
            for pool, connection in sent:
                pool.release(connection)

    def _kept(self, batch: list[Any], after: int | None) -> list[bytes]:
        raw = [k if isinstance(k, bytes) else str(k).encode() for k in batch]
        if self.hidden is not None:
            hidden = self.hidden
            raw = [k for k in raw if not k.startswith(hidden)]
        if self.covered is not None:
            raw = [k for k in raw if self.covered.covers(k)]
        if after is not None:  # the rest of a batch that the previous page cut
            raw = [k for k in raw if key_hash(k) > after]
        # SCAN may return a key twice while Redis rehashes: each is kept once.
        keys = [k for k in dict.fromkeys(raw) if k not in self.seen]
        self.seen.update(keys)
        return keys

    def cut(self, keys: list[bytes], room: int) -> list[bytes]:
        """The first ``room`` keys of the last batch (in hash order); the cursor then
        resumes inside that batch, with the rest."""
        if len(keys) <= room:
            return keys
        keys = sorted(keys, key=key_hash)[:room]
        node, position, count = self.last
        self.nodes[node] = NodeCursor(position, False, count, key_hash(keys[-1]))
        return keys


def _connection(pool: Any) -> Any:
    """A connection of a node's pool (valkey-py still wants the command's name)."""
    try:
        return pool.get_connection()
    except TypeError:
        return pool.get_connection("SCAN")


def start_walk(
    prefix: str,
    budget: int,
    cursor: Any = "0",
    redis_type: str | None = None,
    include_internal: bool = False,
) -> Walk:
    clients = backend.primary_clients()
    nodes = decode(cursor, len(clients))
    covered = stored_prefix(prefix)
    hidden = hides_internal(prefix, include_internal)
    return Walk(
        clients,
        covered.glob,
        budget,
        nodes,
        redis_type=redis_type,
        hidden=hidden,
        covered=covered if covered.exact is not None else None,
    )


def hides_internal(prefix: str, include_internal: bool) -> bytes | None:
    """The stored prefix to hide, unless asked for or browsed explicitly."""
    if include_internal or prefix.startswith(conf.NAMESPACE):
        return None
    return names.internal_prefix_bytes()
