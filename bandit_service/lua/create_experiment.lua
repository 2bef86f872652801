-- Creates an experiment unless one of that name exists, with its first history entry.
-- KEYS[1] config hash, KEYS[2] history list. ARGV[1] config JSON, ARGV[2] history
-- entry JSON. Returns 1 if created, 0 if it existed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'epoch', 1)
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
