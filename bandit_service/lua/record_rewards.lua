-- Records a batch of reward events of one experiment, exactly once each.
-- A decision earns one reward and one guardrail observation (error flag and/or
-- latency); each part is deduplicated on the decision's nonce in its own hash.
-- KEYS[1] stats hash, KEYS[2] observations hash, then per hour bucket b (1-based)
--   KEYS[1 + 2b] "rewarded" hash and KEYS[2 + 2b] "observed" hash of that hour of
--   decision time, mapping a decision's nonce to the event id that set it; then ntb
--   decision-time bucket hashes (experiments with reward timing); then the set of
--   admitted segment values and, per segment s, its stats and observations hashes.
-- ARGV: the events' records (below), nbuckets, one EXPIREAT per hour bucket,
--   track_squares (0/1), ntb, one EXPIREAT per time bucket, most segment values
--   admitted, nseg, the nseg segment values, narms, the narms arm names, then per event
--   its nonce and event id.
-- An event's record is 18 bytes, little-endian (store.py's _EVENT_RECORD): segment,
--   time bucket and hour bucket (uint16 each, 1-based; 0 = none), arm (uint8, 1-based),
--   flags (uint8: 1 has reward, 2 has error flag, 4 error, 8 has latency), latency bucket
--   (uint16), reward (double).
-- Returns one code per event: 1 recorded, 2 duplicate (this event id was seen),
-- 3 the decision was rewarded by another event, 4 it has guardrail outcomes
-- from another event. Codes 3 and 4 change nothing.
local records = ARGV[1]
local nbuckets = tonumber(ARGV[2])
local squares = ARGV[nbuckets + 3] == '1'
local ntb = tonumber(ARGV[nbuckets + 4])
local most = tonumber(ARGV[nbuckets + 5 + ntb])
local nseg = tonumber(ARGV[nbuckets + 6 + ntb])
local seg_values = nbuckets + 6 + ntb
local narms = tonumber(ARGV[seg_values + nseg + 1])
local arm_names = seg_values + nseg + 1
local first = arm_names + narms + 1
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

local pos = 1
for i = first, #ARGV, 2 do
  n = n + 1
  local s, t, b, a, flags, lat, x
  s, t, b, a, flags, lat, x, pos = struct.unpack('<HHHBBHd', records, pos)
  local rewarded, observed = KEYS[1 + 2 * b], KEYS[2 + 2 * b]
  local nonce, event_id, arm = ARGV[i], ARGV[i + 1], ARGV[arm_names + a]
  local has_reward = flags % 2 == 1
  local err = ''
  if math.floor(flags / 2) % 2 == 1 then
    err = (math.floor(flags / 4) % 2 == 1) and '1' or '0'
  end
  if math.floor(flags / 8) % 2 == 1 then
    lat = tostring(lat)
  else
    lat = ''
  end
  local has_obs = err ~= '' or lat ~= ''
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
  redis.call('EXPIREAT', KEYS[1 + 2 * b], ARGV[b + 2])
  redis.call('EXPIREAT', KEYS[2 + 2 * b], ARGV[b + 2])
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
  redis.call('EXPIREAT', KEYS[tb_first_key + t - 1], ARGV[nbuckets + 4 + t])
end
return out
