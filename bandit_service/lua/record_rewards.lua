-- Records a batch of reward events of one experiment, exactly once each.
-- A decision earns one reward and one guardrail observation (error flag and/or
-- latency); each part is deduplicated on the decision's nonce in its own hash.
-- KEYS[1] stats hash, KEYS[2] observations hash, then per hour bucket b (1-based)
--   KEYS[1 + 2b] "rewarded" hash and KEYS[2 + 2b] "observed" hash of that hour
--   of decision time, mapping a decision's nonce to the event id that set it.
--   After them, ntb decision-time bucket hashes (experiments with reward timing).
-- ARGV: nbuckets, then one EXPIREAT time per bucket, then track_squares (0/1),
--   then ntb and one EXPIREAT per time bucket, then per event 8 values: time
--   bucket (1-based, 0 = none), hour bucket, nonce, event id, arm, reward
--   ('' = none), error ('' = none, '0', '1'), latency histogram bucket ('' = none).
-- Returns one code per event: 1 recorded, 2 duplicate (this event id was seen),
-- 3 the decision was rewarded by another event, 4 it has guardrail outcomes
-- from another event. Codes 3 and 4 change nothing.
local nbuckets = tonumber(ARGV[1])
local squares = ARGV[nbuckets + 2] == '1'
local ntb = tonumber(ARGV[nbuckets + 3])
local first = nbuckets + 4 + ntb
local tb_first_key = 3 + 2 * nbuckets
local counts, sums, sumsq = {}, {}, {}
local tb = {}
local obs = {}
local touched = {}
local out = {}
local n = 0

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

local function bump(arm, field, by)
  local key = arm .. ':' .. field
  obs[key] = (obs[key] or 0) + by
end

for i = first, #ARGV, 8 do
  n = n + 1
  local t, b = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local rewarded, observed = KEYS[1 + 2 * b], KEYS[2 + 2 * b]
  local nonce, event_id, arm = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local reward, err, lat = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local has_reward, has_obs = reward ~= '', (err ~= '' or lat ~= '')
  local r = has_reward and part_state(rewarded, nonce, event_id) or 'none'
  local o = has_obs and part_state(observed, nonce, event_id) or 'none'
  if r == 'conflict' then
    out[n] = 3
  elseif o == 'conflict' then
    out[n] = 4
  elseif r ~= 'new' and o ~= 'new' then
    out[n] = 2
  else
    touched[b] = true
    if r == 'new' then
      redis.call('HSET', rewarded, nonce, event_id)
      local x = tonumber(reward)
      counts[arm] = (counts[arm] or 0) + 1
      sums[arm] = (sums[arm] or 0) + x
      sumsq[arm] = (sumsq[arm] or 0) + x * x
      if t > 0 then
        local key = t .. '|' .. arm
        local row = tb[key]
        if not row then
          row = {t, arm, 0, 0, 0}
          tb[key] = row
        end
        row[3] = row[3] + 1
        row[4] = row[4] + x
        row[5] = row[5] + x * x
      end
    end
    if o == 'new' then
      redis.call('HSET', observed, nonce, event_id)
      bump(arm, 'n', 1)
      if err ~= '' then
        bump(arm, 'errn', 1)
        if err == '1' then bump(arm, 'err', 1) end
      end
      if lat ~= '' then
        bump(arm, 'latn', 1)
        bump(arm, 'lat:' .. lat, 1)
      end
    end
    out[n] = 1
  end
end
for b, _ in pairs(touched) do
  redis.call('EXPIREAT', KEYS[1 + 2 * b], ARGV[b + 1])
  redis.call('EXPIREAT', KEYS[2 + 2 * b], ARGV[b + 1])
end
-- One increment per arm and field rather than per event keeps large batches cheap.
for arm, count in pairs(counts) do
  redis.call('HINCRBY', KEYS[1], arm .. ':rewards', count)
  redis.call('HINCRBYFLOAT', KEYS[1], arm .. ':sum', string.format('%.17g', sums[arm]))
  if squares then
    redis.call('HINCRBYFLOAT', KEYS[1], arm .. ':sumsq', string.format('%.17g', sumsq[arm]))
  end
end
for field, count in pairs(obs) do
  redis.call('HINCRBY', KEYS[2], field, count)
end
for _, row in pairs(tb) do
  local key = KEYS[tb_first_key + row[1] - 1]
  redis.call('HINCRBY', key, row[2] .. ':rewards', row[3])
  redis.call('HINCRBYFLOAT', key, row[2] .. ':sum', string.format('%.17g', row[4]))
  if squares then
    redis.call('HINCRBYFLOAT', key, row[2] .. ':sumsq', string.format('%.17g', row[5]))
  end
  redis.call('EXPIREAT', key, ARGV[nbuckets + 3 + row[1]])
end
return out
