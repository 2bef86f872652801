-- Notes that experiments changed: each gets the next number of the changes sequence.
-- KEYS[1] the changes feed (sorted set: experiment name scored by the sequence number of
--   its last change), KEYS[2] the sequence counter, KEYS[3] the feed of config changes
--   (the same, for changes of config only); ARGV[1] '1' for a config change, '0' for
--   statistics only, then the experiment names.
-- Numbering in Redis, not by any replica's clock, lets a replica ask for exactly what
-- changed after the last number it read. Returns the number given.
local seq = redis.call('INCR', KEYS[2])
local config = ARGV[1] == '1'
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], seq, ARGV[i])
  if config then
    redis.call('ZADD', KEYS[3], seq, ARGV[i])
  end
end
return seq
