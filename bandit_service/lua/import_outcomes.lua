-- Adds historical outcomes to one arm, exactly once per import id.
-- KEYS[1] stats hash, KEYS[2] imports hash.
-- ARGV: import id, arm, pulls, rewards, reward sum, reward sum of squares.
-- Returns 1 if applied, 0 if that import id was applied before.
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[2] .. ':pulls', ARGV[3])
redis.call('HINCRBY', KEYS[1], ARGV[2] .. ':rewards', ARGV[4])
redis.call('HINCRBYFLOAT', KEYS[1], ARGV[2] .. ':sum', ARGV[5])
redis.call('HINCRBYFLOAT', KEYS[1], ARGV[2] .. ':sumsq', ARGV[6])
return 1
