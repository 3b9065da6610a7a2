"""Large keyspaces written quickly: one Lua call per chunk of keys (a test set-up shortcut
for a single server, not something the package does)."""

from __future__ import annotations

import redis

_POPULATE = """
local prefix, value = ARGV[1], ARGV[4]
local first, count, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
for i = first, first + count - 1 do
  if ttl > 0 then
    redis.call('SET', prefix .. i, value, 'EX', ttl)
  else
    redis.call('SET', prefix .. i, value)
  end
end
return count
"""
CHUNK = 50_000


def populate(
    client: redis.Redis, prefix: str, count: int, value: bytes = b"v", ttl: int = 0
) -> None:
    """``count`` keys ``<prefix>0``... holding ``value``, expiring in ``ttl`` s (0: never)."""
    script = client.register_script(_POPULATE)
    for first in range(0, count, CHUNK):
        script(args=[prefix, first, min(CHUNK, count - first), value, ttl])
