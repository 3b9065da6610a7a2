"""Prefix deletion's server-side step: SCAN and UNLINK run inside Redis, in one script call.

No key travels to the client and back, and the client does not parse, filter or re-send
thousands of keys per batch: the call returns five numbers. Each call stops once it has
used its time budget (``PREFIX_STEP_MS``, measured with TIME inside the script) and sizes
each of its SCAN steps from the time per key of the step before, so no call keeps Redis
busy much past the budget whatever ``SCAN_COUNT`` says. The client passes back the time
per key the last call ended with, so the first step of the next call is sized the same way.

The script declares no keys: it only touches keys SCAN just returned from this node. On a
cluster node it unlinks key by key, because a multi-key UNLINK across hash slots is
refused even inside a script (Redis 7.0 allows the key-by-key form to a script without a
``#!lua`` flags line, the form older versions run too). Where scripts are refused
(an ACL without EVALSHA, a renamed command, a script error), the caller goes on from the
cursor reached with the client-side loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

# ARGV: cursor, MATCH pattern, most keys per SCAN step, time budget (µs), the time per key
# known so far (µs, 0 when none), protected prefix ('' for none), mode ('count' | 'unlink' |
# 'unlink-each'), most keys to examine in this call (0: no limit).
# Returns: cursor, keys examined (the sum of the steps' COUNT), matched, deleted, the time
# per key known now (as text: a Lua number would be cut to a whole one).
STEP = """
if redis.replicate_commands then redis.replicate_commands() end
local cursor, match = ARGV[1], ARGV[2]
local most, budget, per_key = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local protected, mode, limit = ARGV[6], ARGV[7], tonumber(ARGV[8])
local function now()
  local t = redis.call('TIME')
  return t[1] * 1000000 + t[2]
end
-- Steps of fewer than 64 keys cost more in per-command overhead than they save.
local least = math.min(most, 64)
local began = now()
local examined, matched, deleted = 0, 0, 0
local size = least
if per_key > 0 then size = math.max(least, math.floor(math.min(most, budget / per_key))) end
while true do
  if limit > 0 then size = math.min(size, limit - examined) end
  local before = now()
  local reply = redis.call('SCAN', cursor, 'MATCH', match, 'COUNT', size)
  cursor = reply[1]
  local keys = reply[2]
  if protected ~= '' then
    local kept = {}
    for _, key in ipairs(keys) do
      if string.sub(key, 1, #protected) ~= protected then kept[#kept + 1] = key end
    end
    keys = kept
  end
  local n = #keys
  matched = matched + n
  if mode == 'unlink' then
    -- unpack is limited to a few thousand values
    for first = 1, n, 4096 do
      deleted = deleted + redis.call('UNLINK', unpack(keys, first, math.min(first + 4095, n)))
    end
  elseif mode == 'unlink-each' then
    for _, key in ipairs(keys) do deleted = deleted + redis.call('UNLINK', key) end
  end
  examined = examined + size
  local after = now()
  -- The next step gets what is left of the budget at this step's time per key. (Following
  -- the fastest step seen instead keeps fewer, longer calls on a busy host, but each one
  -- runs past the budget whenever the host is slower than at its best.)
  per_key = math.max(after - before, 1) / size
  local fits = math.floor(math.min(most, (budget - (after - began)) / per_key))
  if cursor == '0' or (limit > 0 and examined >= limit) or fits < least then break end
  size = fits
end
return {cursor, examined, matched, deleted, tostring(per_key)}
"""


@dataclass(frozen=True)
class StepDone:
    cursor: int
    examined: int
    matched: int
    deleted: int
    per_key_us: float


class ServerStep:
    """The step script bound to one node's client."""

    def __init__(self, client: redis.Redis) -> None:
        self.script = client.register_script(STEP)

    def __call__(
        self,
        *,
        cursor: int,
        match: str,
        most: int,
        budget_us: int,
        per_key_us: float,
        protected: bytes | None,
        mode: str,
        limit: int,
    ) -> StepDone:
        reply = self.script(
            args=[cursor, match, most, budget_us, per_key_us, protected or b"", mode, limit]
        )
        next_cursor, examined, matched, deleted, per_key = reply
        return StepDone(int(next_cursor), int(examined), int(matched), int(deleted), float(per_key))
