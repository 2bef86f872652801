-- Adds one replica's decision counts, exactly once per (replica, seq).
-- KEYS[1] stats hash, KEYS[2] this replica's last-applied-seq key, KEYS[3] the set of
-- admitted segment values, KEYS[3 + s] the stats hash of the s-th segment below, and
-- last, only for experiments with reward timing, the decision-time bucket the counts
-- also go to.
-- ARGV[1] seq, ARGV[2] ttl of the seq key (s), ARGV[3] EXPIREAT of the time bucket (0:
-- none), ARGV[4] most segment values admitted, ARGV[5] number of segments, ARGV[6]
-- number of (arm, count) pairs that follow; then per segment: value, number of pairs,
-- the pairs. A segment value is admitted while the experiment has room for one more.
-- A replica retries an uncertain flush with the same seq, so a flush that did
-- land before the connection broke is not applied twice.
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= last then
  return 0
end
local nseg = tonumber(ARGV[5])
local bucket = nil
if tonumber(ARGV[3]) > 0 then
  bucket = KEYS[4 + nseg]
end
local npairs = tonumber(ARGV[6])
local i = 7
for _ = 1, npairs do
  redis.call('HINCRBY', KEYS[1], ARGV[i] .. ':pulls', ARGV[i + 1])
  if bucket then
    redis.call('HINCRBY', bucket, ARGV[i] .. ':pulls', ARGV[i + 1])
  end
  i = i + 2
end
if bucket then
  redis.call('EXPIREAT', bucket, ARGV[3])
end
local most = tonumber(ARGV[4])
for s = 1, nseg do
  local value, n = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local admitted = redis.call('SISMEMBER', KEYS[3], value) == 1
  if not admitted and redis.call('SCARD', KEYS[3]) < most then
    redis.call('SADD', KEYS[3], value)
    admitted = true
  end
  for _ = 1, n do
    if admitted then
      redis.call('HINCRBY', KEYS[3 + s], ARGV[i] .. ':pulls', ARGV[i + 1])
    end
    i = i + 2
  end
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
