-- Compare-and-set of an experiment's config on its epoch, with its history entry.
-- KEYS[1] config hash, KEYS[2] history list.
-- ARGV[1] expected epoch, ARGV[2] new config JSON, ARGV[3] history entry JSON
-- (written for epoch ARGV[1] + 1), ARGV[4] most history entries kept.
-- Returns the new epoch, 0 if the experiment does not exist, -1 if the epoch moved.
local current = redis.call('HGET', KEYS[1], 'epoch')
if not current then
  return 0
end
if current ~= ARGV[1] then
  return -1
end
redis.call('HSET', KEYS[1], 'json', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
