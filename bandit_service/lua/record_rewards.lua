-- Records a batch of rewards of one experiment; each decision earns one reward.
-- KEYS[1] stats hash; KEYS[2..] "rewarded" hashes, one per hour of decision time,
--   mapping a decision's nonce to the event id that rewarded it.
-- ARGV: nbuckets, then one EXPIREAT time per bucket, then track_squares (0/1),
--   then per event 5 values: bucket number (1-based), nonce, event id, arm, reward.
-- Returns one code per event: 1 recorded, 2 duplicate (same event seen before),
-- 3 conflict (the decision was already rewarded by another event).
local nbuckets = tonumber(ARGV[1])
local squares = ARGV[nbuckets + 2] == '1'
local first = nbuckets + 3
local counts, sums, sumsq = {}, {}, {}
local touched = {}
local out = {}
local n = 0
for i = first, #ARGV, 5 do
  n = n + 1
  local b = tonumber(ARGV[i])
  local bucket = KEYS[b + 1]
  local arm = ARGV[i + 3]
  if redis.call('HSETNX', bucket, ARGV[i + 1], ARGV[i + 2]) == 1 then
    touched[b] = true
    local reward = tonumber(ARGV[i + 4])
    counts[arm] = (counts[arm] or 0) + 1
    sums[arm] = (sums[arm] or 0) + reward
    sumsq[arm] = (sumsq[arm] or 0) + reward * reward
    out[n] = 1
  elseif redis.call('HGET', bucket, ARGV[i + 1]) == ARGV[i + 2] then
    out[n] = 2
  else
    out[n] = 3
  end
end
for b, _ in pairs(touched) do
  redis.call('EXPIREAT', KEYS[b + 1], ARGV[b + 1])
end
-- One increment per arm rather than per event keeps large batches cheap.
for arm, count in pairs(counts) do
  redis.call('HINCRBY', KEYS[1], arm .. ':rewards', count)
  redis.call('HINCRBYFLOAT', KEYS[1], arm .. ':sum', string.format('%.17g', sums[arm]))
  if squares then
    redis.call('HINCRBYFLOAT', KEYS[1], arm .. ':sumsq', string.format('%.17g', sumsq[arm]))
  end
end
return out
