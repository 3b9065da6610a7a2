"""One node's keyspace walked within a budget: SCAN, then TYPE, PTTL and MEMORY USAGE of
each batch in one pipeline (``keyspace.scan.key_infos``), added up in a NodeTally.

SCAN without MATCH returns every key it examines, so the keys sampled are a known share
of the node's DBSIZE and the tally can be scaled up to the whole node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from cache_admin.analysis.namespaces import namespace
from cache_admin.analysis.tally import KeyFact, NodeTally
from cache_admin.conf import conf
from cache_admin.keyspace import names
from cache_admin.keyspace.scan import KeyInfo, key_infos
from cache_admin.keyspace.walk import Walk
from cache_admin.nodes import node_name

# Pseudo-types beside the cache types: a site key of no type, the package's own keys, and
# keys outside the site's KEY_PREFIX:VERSION (another site, an earlier VERSION).
UNTYPED = "_untyped"
PACKAGE = "_package"
OUTSIDE = "_outside"
PSEUDO_TYPES = (UNTYPED, PACKAGE, OUTSIDE)
# Keys per SCAN step and per pipeline of TYPE + PTTL + MEMORY USAGE (at most SCAN_COUNT):
# a SCAN of 1,000 keys took 0.8-1.8 ms on a loaded machine with 1,000,000 keys, one of
# 500 half that, far from the 5 ms no command of the analysis may take (bench/).
BATCH = 500


@dataclass(frozen=True)
class Options:
    budget: int  # keys examined per node
    delimiter: str
    depth: int


class Classifier:
    """Which group, namespace and flags a sampled key gets."""

    def __init__(self, options: Options, ceilings: dict[str, int]) -> None:
        self.options = options
        # Per type: the longest TTL a key written now can have (effective TTL + jitter).
        self.ceilings = ceilings
        self.site = names.site_prefix_bytes()
        self.internal = names.internal_prefix_bytes()

    def add(self, tally: NodeTally, info: KeyInfo) -> None:
        stored = info.stored
        logical: str | None = None
        where: str | None = None
        if not stored.startswith(self.site):
            group = OUTSIDE
        else:
            logical = info.logical
            where = namespace(logical, self.options.delimiter, self.options.depth)
            if stored.startswith(self.internal):
                group = PACKAGE
            else:
                group = info.cache_type.name if info.cache_type else UNTYPED
        ceiling = self.ceilings.get(group)
        over = info.ttl is not None and ceiling is not None and info.ttl > ceiling
        fact = KeyFact(
            stored=info.stored_text,
            logical=logical,
            token=info.token,
            group=group,
            redis_type=info.redis_type,
            ttl=info.ttl,
            size=info.size or 0,
            node=tally.node,
        )
        leak = info.persistent and group not in (PACKAGE, OUTSIDE)
        tally.add(fact, where, over, leak)


def walk_node(
    client: redis.Redis,
    classifier: Classifier,
    on_batch: Callable[[NodeTally], bool],
) -> NodeTally:
    """Sample one node; ``on_batch(tally)`` after each batch, False to stop early."""
    memory = client.info("memory").get("used_memory")
    tally = NodeTally(
        node=node_name(client),
        keys=int(client.dbsize()),
        used_memory=int(memory) if memory is not None else None,
    )
    walk = Walk([client], "*", classifier.options.budget)
    for _node, keys in walk.batches(min(conf.SCAN_COUNT, BATCH)):
        for info in key_infos([client], [(0, key) for key in keys]):
            if info.exists:  # a key that expired since SCAN listed it is not counted
                classifier.add(tally, info)
        tally.complete = walk.done
        # COUNT is a hint: a finished walk examined no more keys than the node holds.
        tally.examined = min(walk.scanned, tally.keys) if walk.done else walk.scanned
        if not on_batch(tally):
            break
    return tally
