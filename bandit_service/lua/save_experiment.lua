-- Compare-and-set of an experiment's config on its epoch.
-- KEYS[1] config hash. ARGV[1] expected epoch, ARGV[2] new config JSON.
-- Returns the new epoch, 0 if the experiment does not exist, -1 if the epoch moved.
local current = redis.call('HGET', KEYS[1], 'epoch')
if not current then
  return 0
end
if current ~= ARGV[1] then
  return -1
end
redis.call('HSET', KEYS[1], 'json', ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
