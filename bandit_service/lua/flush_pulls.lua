-- Adds one replica's decision counts, exactly once per (replica, seq).
-- KEYS[1] stats hash, KEYS[2] this replica's last-applied-seq key, KEYS[3] (only
-- for experiments with reward timing) the decision-time bucket the counts also go to.
-- ARGV[1] seq, ARGV[2] ttl of the seq key (s), ARGV[3] EXPIREAT of the bucket (0
-- without one), then pairs: arm name, count.
-- A replica retries an uncertain flush with the same seq, so a flush that did
-- land before the connection broke is not applied twice.
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= last then
  return 0
end
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i] .. ':pulls', ARGV[i + 1])
  if KEYS[3] then
    redis.call('HINCRBY', KEYS[3], ARGV[i] .. ':pulls', ARGV[i + 1])
  end
end
if KEYS[3] then
  redis.call('EXPIREAT', KEYS[3], ARGV[3])
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
