/**
 * @module ratelimit/redis-script — the one Lua script behind every Redis check: acquire (`a`),
 * release (`r`) and peek (`p`), each one EVALSHA. Time is the Redis server's `TIME` (plus a
 * test-only offset), so replicas with skewed clocks agree. A TS string rather than a `.lua` file,
 * so `tsc` alone builds it into dist/. Mirrors ratelimit/bucket.ts.
 *
 * KEYS: the budgets' keys (prefixed). ARGV: op, leaseId, leaseMs, offsetMs, then per key:
 * kind (`b` bucket, `c` concurrency), capacity, windowMs, amount.
 * Buckets are hashes {l: units held, t: ms at which it held them}, expiring when full again;
 * concurrency budgets are sorted sets of leaseId → expiry (ms), trimmed on every acquire.
 * Reply: {ok (1|0), denied index (1-based, 0), retryAfterMs, then remaining, resetMs per key}.
 */
export const LIMITER_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) + tonumber(ARGV[4])
local op, lease, leaseMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = #KEYS
local kind, cap, win, amt, lvl = {}, {}, {}, {}, {}
for i = 1, n do
  local b = 4 + (i - 1) * 4
  kind[i] = ARGV[b + 1]
  cap[i] = tonumber(ARGV[b + 2])
  win[i] = tonumber(ARGV[b + 3])
  amt[i] = tonumber(ARGV[b + 4])
end

local function level(i)
  local v = redis.call('HMGET', KEYS[i], 'l', 't')
  if not v[1] then return cap[i] end
  local elapsed = math.max(0, now - tonumber(v[2]))
  return math.min(cap[i], tonumber(v[1]) + elapsed * cap[i] / win[i])
end

local function store(i, l)
  if l >= cap[i] then
    redis.call('DEL', KEYS[i])
  else
    redis.call('HSET', KEYS[i], 'l', string.format('%.17g', l), 't', now)
    redis.call('PEXPIRE', KEYS[i], math.ceil((cap[i] - l) * win[i] / cap[i]) + 1)
  end
end

local function last(i)
  local top = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if top[2] then return tonumber(top[2]) end
  return now
end

local function states(out)
  for i = 1, n do
    if kind[i] == 'b' then
      local l = lvl[i] or level(i)
      local reset = 0
      if l < cap[i] then reset = math.ceil((cap[i] - l) * win[i] / cap[i]) end
      out[#out + 1] = math.max(0, math.floor(l))
      out[#out + 1] = reset
    else
      local held = redis.call('ZCOUNT', KEYS[i], '(' .. now, '+inf')
      local reset = 0
      if held > 0 then reset = math.max(1, last(i) - now) end
      out[#out + 1] = math.max(0, cap[i] - held)
      out[#out + 1] = reset
    end
  end
  return out
end

if op == 'p' then return states({1, 0, 0}) end

if op == 'r' then
  for i = 1, n do
    if kind[i] == 'c' then
      redis.call('ZREM', KEYS[i], lease)
    elseif amt[i] > 0 and redis.call('EXISTS', KEYS[i]) == 1 then
      store(i, level(i) + amt[i])
    end
  end
  return {1, 0, 0}
end

for i = 1, n do
  local fits
  if kind[i] == 'b' then
    lvl[i] = level(i)
    fits = lvl[i] >= amt[i]
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    fits = redis.call('ZSCORE', KEYS[i], lease) or redis.call('ZCARD', KEYS[i]) < cap[i]
  end
  if not fits then
    local retry
    if kind[i] == 'b' then
      retry = math.ceil((math.min(amt[i], cap[i]) - lvl[i]) * win[i] / cap[i])
    else
      local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      retry = math.min(tonumber(first[2]) - now, 1000)
    end
    return states({0, i, math.max(1, retry)})
  end
end

for i = 1, n do
  if kind[i] == 'b' then
    lvl[i] = lvl[i] - amt[i]
    store(i, lvl[i])
  else
    redis.call('ZADD', KEYS[i], now + leaseMs, lease)
    redis.call('PEXPIRE', KEYS[i], math.max(1, last(i) - now))
  end
end
return states({1, 0, 0})
`;
