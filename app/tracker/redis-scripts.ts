// The Lua scripts of the Redis store (redis-store.ts), one round trip each. Per swarm, all
// under the hash tag `{infohash}`, so a swarm lives on one Redis Cluster slot:
//   shoal:{ih}:s, shoal:{ih}:l  hashes of seeders and leechers: peer id (20 bytes) → value
//   shoal:{ih}:m                hash: `e` epoch and `v` version (see below), `w` the next slot to sweep
//   shoal:{ih}:c                list: the last CHANGE_LOG changes, [version: 4][peer id], newest first
//   shoal:{ih}:x:<k>            list: ids of the peers filed under expiry slot k
// A value is [expiry, s: 4][filed slot mod 65536: 2][the peer, peer-codec.ts]. Expiry runs on a
// lazy timer wheel rather than a sorted set (whose skip list took 124 of 263 bytes per peer in
// swarms past 128 peers): a new peer's id is pushed on the list of its expiry's slot; each
// announce sweeps a bounded batch of past slots, dropping the peers that expired and filing the
// others (who announced since) under their new slot. A peer is in exactly one slot list: an
// entry whose slot is not the one its value names is a leftover, and skipped.
// The version (`e`:`v`) changes whenever what a sample would show changes: a peer added,
// removed or expired, or its address, role or capabilities changed. An instance that holds a
// sample of that version gets none back: a re-announce that changes nothing costs no sample.
// One a few versions behind gets what changed since (the peers named in the change log, as
// they are now), so a flash crowd over many instances costs a few peers per announce, not a
// sample.

/** Width of an expiry slot: a peer goes at most this long past its TTL before it is dropped. */
export const SLOT_MS = 10_000
/** Slot entries (or empty slots) one announce sweeps at most. */
const SWEEP_BATCH = 64
/** Changes a swarm remembers (`shoal:{ih}:c`), newest first, for instances a few versions behind. */
const CHANGE_LOG = 32

// KEYS: s, l, m, c. ARGV: id, peer (peer-codec), seeder 1/0, stopped 1/0, now ms, ttl ms, sample, epoch, version
// Returns {seeders, leechers, epoch, version} when the caller's sample (epoch, version) is
// current; then, when it is a few versions behind, 'd' and what changed since: seeders and
// leechers as records of [value length][peer id][value], and the ids of peers gone; else
// (and unless the requester stopped) 's' and a sample of seeders and of leechers, as records.
export const ANNOUNCE_LUA = `
local s, l, m, c = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local base = string.sub(m, 1, -2) .. 'x:'
local id, now, ttl = ARGV[1], tonumber(ARGV[5]), tonumber(ARGV[6])
local slotMs, batch = ${SLOT_MS}, ${SWEEP_BATCH}
local cur = math.floor(now / slotMs)
local meta = redis.call('HMGET', m, 'e', 'v', 'w')
local epoch, version = meta[1], tonumber(meta[2] or 0)
local w = tonumber(meta[3] or cur)
if not epoch then epoch = tostring(now) end
local changed = {}
local function find(peer)
  local v = redis.call('HGET', s, peer)
  if v then return s, v end
  return l, redis.call('HGET', l, peer)
end
-- The sweep: past slots, oldest first, a bounded batch per announce.
local budget = batch
while w < cur and budget > 0 do
  local slot = w
  local ids = redis.call('LPOP', base .. slot, budget) or {}
  -- A list emptied is gone: that slot is done.
  if #ids < budget then w = w + 1 end
  budget = budget - math.max(1, #ids)
  for _, peer in ipairs(ids) do
    local which, v = find(peer)
    if v and struct.unpack('>I2', v, 5) == slot % 65536 then
      local expiry = struct.unpack('>I4', v)
      if expiry * 1000 <= now then
        redis.call('HDEL', which, peer)
        changed[#changed + 1] = peer
      else
        local k = math.floor(expiry * 1000 / slotMs)
        redis.call('HSET', which, peer, struct.pack('>I4I2', expiry, k % 65536) .. string.sub(v, 7))
        redis.call('RPUSH', base .. k, peer)
        redis.call('PEXPIRE', base .. k, (k + 1) * slotMs - now + ttl)
      end
    end
  end
end
local mine, other = l, s
if ARGV[3] == '1' then mine, other = s, l end
local old, prev = find(id)
if ARGV[4] == '1' then
  if prev then
    redis.call('HDEL', old, id)
    changed[#changed + 1] = id
  end
else
  local expiry = math.floor((now + ttl) / 1000) + 1
  local k
  if prev and struct.unpack('>I4', prev) * 1000 > now then
    k = struct.unpack('>I2', prev, 5)
    if old ~= mine or string.sub(prev, 7) ~= ARGV[2] then changed[#changed + 1] = id end
  else
    -- New (or expired and not yet swept): filed under the slot of its expiry.
    k = math.floor(expiry * 1000 / slotMs)
    redis.call('RPUSH', base .. k, id)
    redis.call('PEXPIRE', base .. k, (k + 1) * slotMs - now + ttl)
    k = k % 65536
    changed[#changed + 1] = id
  end
  if prev and old ~= mine then redis.call('HDEL', old, id) end
  redis.call('HSET', mine, id, struct.pack('>I4I2', expiry, k) .. ARGV[2])
end
local logMax = ${CHANGE_LOG}
if #changed > 0 then
  version = version + 1
  for _, peer in ipairs(changed) do redis.call('LPUSH', c, struct.pack('>I4', version) .. peer) end
  redis.call('LTRIM', c, 0, logMax - 1)
end
redis.call('HSET', m, 'e', epoch, 'v', version, 'w', w)
redis.call('PEXPIRE', s, ttl)
redis.call('PEXPIRE', l, ttl)
redis.call('PEXPIRE', m, ttl)
-- The log lives as long as the version it explains.
redis.call('PEXPIRE', c, ttl)
local counts = {redis.call('HLEN', s), redis.call('HLEN', l), epoch, version}
local held = ARGV[8] == epoch and tonumber(ARGV[9])
if held == version then return counts end
if held then
  local log = redis.call('LRANGE', c, 0, logMax - 1)
  -- Complete when nothing was ever trimmed, or the oldest entry kept is from the held version or before.
  if #log < logMax or struct.unpack('>I4', log[#log]) <= held then
    local seen, seeds, leechers, gone = {}, {}, {}, {}
    for _, entry in ipairs(log) do
      if struct.unpack('>I4', entry) <= held then break end
      local peer = string.sub(entry, 5)
      if not seen[peer] then
        seen[peer] = true
        local which, v = find(peer)
        if not v then gone[#gone + 1] = peer
        elseif which == s then seeds[#seeds + 1] = string.char(#v) .. peer .. v
        else leechers[#leechers + 1] = string.char(#v) .. peer .. v end
      end
    end
    counts[5], counts[6], counts[7], counts[8] = 'd', table.concat(seeds), table.concat(leechers), table.concat(gone)
    return counts
  end
end
if ARGV[4] == '1' then return counts end
local function pack(flat)
  local parts = {}
  for i = 1, #flat, 2 do parts[#parts + 1] = string.char(#flat[i + 1]) .. flat[i] .. flat[i + 1] end
  return table.concat(parts)
end
local want = tonumber(ARGV[7]) + 1
counts[5] = 's'
counts[6] = pack(redis.call('HRANDFIELD', s, want, 'WITHVALUES'))
counts[7] = pack(redis.call('HRANDFIELD', l, want, 'WITHVALUES'))
return counts
`

// Admits a swarm: known ones are refreshed; a new one only while fewer than the cap are active.
export const ADMIT_LUA = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`
