/**
 * The Lua scripts redisquota runs, so that reading and charging a counter is one atomic step for
 * every Mixer replica sharing the Redis. Time comes from Redis (`TIME`), so replicas whose clocks
 * differ still agree on windows.
 *
 * Both take KEYS[1] = the counter, KEYS[2] = the deduplication key ('' for none) and ARGV =
 * amount, maxAmount, windowMs, bucketMs, bestEffort (0/1), dedupMs; both return
 * {granted, msUntilReset}.
 */

const prologue = `
local amount = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local bucket = tonumber(ARGV[4])
local best = ARGV[5] == '1'
local dedupMs = tonumber(ARGV[6])
if KEYS[2] ~= '' then
  local seen = redis.call('GET', KEYS[2])
  if seen then return {tonumber(seen), 0} end
end
local function grant(used)
  local avail = max - used
  if avail < 0 then avail = 0 end
  if avail >= amount then return amount end
  if best then return avail end
  return 0
end
local function remember(g)
  if KEYS[2] ~= '' then redis.call('SET', KEYS[2], g, 'PX', dedupMs) end
end
`;

/** A counter that resets `windowMs` after its first charge (may admit 2x at a boundary). */
export const fixedWindowScript = `${prologue}
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local g = grant(used)
if g > 0 then
  local v = redis.call('INCRBY', KEYS[1], g)
  if v == g then redis.call('PEXPIRE', KEYS[1], window) end
end
remember(g)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {g, ttl}
`;

/** Buckets of `bucketMs` in a hash; the window is the buckets of the last `windowMs`. */
export const rollingWindowScript = `${prologue}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local oldest = now - window
local fields = redis.call('HGETALL', KEYS[1])
local used = 0
for i = 1, #fields, 2 do
  local start = tonumber(fields[i])
  if start + bucket <= oldest then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    used = used + tonumber(fields[i + 1])
  end
end
local g = grant(used)
if g > 0 then
  redis.call('HINCRBY', KEYS[1], tostring(now - (now % bucket)), g)
  redis.call('PEXPIRE', KEYS[1], window + bucket)
end
remember(g)
return {g, bucket}
`;
