"""The Lua scripts behind a step run's state machine. Each runs atomically in Redis: the compare, the new
state, the audit entry and the "sync with Slack" mark happen together or not at all, so no crash or race
can leave a state without its audit entry, an audit entry out of order, or a change Slack never hears of.

Arrays (fields, audit entries) travel as JSON arrays of strings: [name1, value1, name2, value2, ...].
"""

# KEYS: approval hash, open-request key, audit stream, live set, sync set.
# ARGV: id, request JSON, open key TTL (ms), now, audit array.
# Returns {1, id} for a new request, {0, id of the open one} when the same action is already requested.
CREATE = """
local existing = redis.call('GET', KEYS[2])
if existing then return {0, existing} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
redis.call('HSET', KEYS[1], 'request', ARGV[2], 'state', 'pending', 'version', 1, 'updated_at', ARGV[4])
redis.call('XADD', KEYS[3], '*', unpack(cjson.decode(ARGV[5])))
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
return {1, ARGV[1]}
"""

# KEYS: approval hash, audit stream, sync set, live set, open-request key.
# ARGV: id, old state, new state, now, fields array, audit array, "1" when the new state is terminal.
# Returns "OK" for the one caller that moved the state, else the state it found ("" for none).
TRANSITION = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= ARGV[2] then return state or '' end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'updated_at', ARGV[4])
local fields = cjson.decode(ARGV[5])
for i = 1, #fields, 2 do redis.call('HSET', KEYS[1], fields[i], fields[i + 1]) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(ARGV[6])))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
if ARGV[7] == '1' then redis.call('ZREM', KEYS[4], ARGV[1]) end
return 'OK'
"""

# KEYS: approval hash, sync set. ARGV: message ts, now, id.
# The request's ts arrives after its post returns: set it once, never touching the state or the decision
# (a click may have decided the request meanwhile), and mark the message for a render of the current state.
SET_MESSAGE_TS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], 'message_ts', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# KEYS: approval hash, sync set. ARGV: the version rendered, id.
# Off the sync set only if no transition happened since the render; otherwise the next sync shows it.
SYNCED = """
if redis.call('HGET', KEYS[1], 'version') == ARGV[1] then redis.call('ZREM', KEYS[2], ARGV[2]) return 1 end
return 0
"""
