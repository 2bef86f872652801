-- Adds one replica's decision counts, exactly once per (replica, seq).
-- KEYS[1] stats hash, KEYS[2] this replica's last-applied-seq key.
-- ARGV[1] seq, ARGV[2] ttl of the seq key (s), then pairs: arm name, count.
-- A replica retries an uncertain flush with the same seq, so a flush that did
-- land before the connection broke is not applied twice.
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= last then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i] .. ':pulls', ARGV[i + 1])
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
