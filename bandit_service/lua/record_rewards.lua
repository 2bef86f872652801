-- Records a batch of reward events of one experiment, exactly once each.
-- A decision earns one reward and one guardrail observation (error flag and/or
-- latency); each part is deduplicated on the decision's nonce in its own hash.
-- KEYS[1] stats hash, KEYS[2] observations hash, then per hour bucket b (1-based)
--   KEYS[1 + 2b] "rewarded" hash and KEYS[2 + 2b] "observed" hash of that hour of
--   decision time, mapping a decision's nonce to the event id that set it; then ntb
--   decision-time bucket hashes (experiments with reward timing); then the set of
--   admitted segment values and, per segment s, its stats and observations hashes.
-- ARGV: nbuckets, one EXPIREAT per hour bucket, track_squares (0/1), ntb, one EXPIREAT
--   per time bucket, most segment values admitted, nseg, the nseg segment values, then
--   per event 9 values: segment
--   (1-based, 0 = none), time bucket (1-based, 0 = none), hour bucket, nonce, event id,
--   arm, reward ('' = none), error ('' = none, '0', '1'), latency bucket ('' = none).
-- Returns one code per event: 1 recorded, 2 duplicate (this event id was seen),
-- 3 the decision was rewarded by another event, 4 it has guardrail outcomes
-- from another event. Codes 3 and 4 change nothing.
local nbuckets = tonumber(ARGV[1])
local squares = ARGV[nbuckets + 2] == '1'
local ntb = tonumber(ARGV[nbuckets + 3])
local most = tonumber(ARGV[nbuckets + 4 + ntb])
local nseg = tonumber(ARGV[nbuckets + 5 + ntb])
local seg_values = nbuckets + 5 + ntb
local first = seg_values + nseg + 1
local tb_first_key = 3 + 2 * nbuckets
local segset = tb_first_key + ntb

-- Aggregates: one increment per hash and field at the end keeps large batches cheap.
local incr, incr_float = {}, {}
local touched_hours, touched_tb = {}, {}
local out = {}
local n = 0

local function add(into, key, field, by)
  local row = into[key]
  if not row then
    row = {}
    into[key] = row
  end
  row[field] = (row[field] or 0) + by
end

-- A segment value is admitted by the first flush of its decisions or the first reward,
-- whichever comes first, while the experiment has room for one more (as flush_pulls).
local admitted = {}
for s = 1, nseg do
  local value = ARGV[seg_values + s]
  admitted[s] = redis.call('SISMEMBER', KEYS[segset], value) == 1
  if not admitted[s] and redis.call('SCARD', KEYS[segset]) < most then
    redis.call('SADD', KEYS[segset], value)
    admitted[s] = true
  end
end

-- 'new', 'dup' or 'conflict' for one part of an event.
local function part_state(hash, nonce, event_id)
  local seen = redis.call('HGET', hash, nonce)
  if not seen then
    return 'new'
  elseif seen == event_id then
    return 'dup'
  end
  return 'conflict'
end

local function observe(key, arm, err, lat)
  add(incr, key, arm .. ':n', 1)
  if err ~= '' then
    add(incr, key, arm .. ':errn', 1)
    if err == '1' then add(incr, key, arm .. ':err', 1) end
  end
  if lat ~= '' then
    add(incr, key, arm .. ':latn', 1)
    add(incr, key, arm .. ':lat:' .. lat, 1)
  end
end

local function reward_into(key, arm, x)
  add(incr, key, arm .. ':rewards', 1)
  add(incr_float, key, arm .. ':sum', x)
  if squares then add(incr_float, key, arm .. ':sumsq', x * x) end
end

for i = first, #ARGV, 9 do
  n = n + 1
  local s, t, b = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local rewarded, observed = KEYS[1 + 2 * b], KEYS[2 + 2 * b]
  local nonce, event_id, arm = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local reward, err, lat = ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  local has_reward, has_obs = reward ~= '', (err ~= '' or lat ~= '')
  local r = has_reward and part_state(rewarded, nonce, event_id) or 'none'
  local o = has_obs and part_state(observed, nonce, event_id) or 'none'
  local in_segment = s > 0 and admitted[s]
  if r == 'conflict' then
    out[n] = 3
  elseif o == 'conflict' then
    out[n] = 4
  elseif r ~= 'new' and o ~= 'new' then
    out[n] = 2
  else
    touched_hours[b] = true
    if r == 'new' then
      redis.call('HSET', rewarded, nonce, event_id)
      local x = tonumber(reward)
      reward_into(KEYS[1], arm, x)
      if t > 0 then
        reward_into(KEYS[tb_first_key + t - 1], arm, x)
        touched_tb[t] = true
      end
      if in_segment then reward_into(KEYS[segset + 2 * s - 1], arm, x) end
    end
    if o == 'new' then
      redis.call('HSET', observed, nonce, event_id)
      observe(KEYS[2], arm, err, lat)
      if in_segment then observe(KEYS[segset + 2 * s], arm, err, lat) end
    end
    out[n] = 1
  end
end
for b, _ in pairs(touched_hours) do
  redis.call('EXPIREAT', KEYS[1 + 2 * b], ARGV[b + 1])
  redis.call('EXPIREAT', KEYS[2 + 2 * b], ARGV[b + 1])
end
for key, fields in pairs(incr) do
  for field, by in pairs(fields) do
    redis.call('HINCRBY', key, field, by)
  end
end
for key, fields in pairs(incr_float) do
  for field, by in pairs(fields) do
    redis.call('HINCRBYFLOAT', key, field, string.format('%.17g', by))
  end
end
for t, _ in pairs(touched_tb) do
  redis.call('EXPIREAT', KEYS[tb_first_key + t - 1], ARGV[nbuckets + 3 + t])
end
return out
