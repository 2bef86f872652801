-- Creates an experiment unless one of that name exists.
-- KEYS[1] config hash. ARGV[1] config JSON. Returns 1 if created, 0 if it existed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'epoch', 1)
return 1
