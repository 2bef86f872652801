-- Notes that experiments changed: each gets the next number of the changes sequence.
-- KEYS[1] the changes feed (sorted set: experiment name scored by the sequence number of
--   its last change), KEYS[2] the sequence counter; ARGV the experiment names.
-- Numbering in Redis, not by any replica's clock, lets a replica ask for exactly what
-- changed after the last number it read. Returns the number given.
local seq = redis.call('INCR', KEYS[2])
for i = 1, #ARGV do
  redis.call('ZADD', KEYS[1], seq, ARGV[i])
end
return seq
