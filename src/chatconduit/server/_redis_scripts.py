"""The Redis side of :class:`~chatconduit.server.RedisStreamLog`: its keys and Lua scripts.

Per run (``<p>`` is the log's prefix, ``<run>`` the run's key, scoped as the endpoint
scopes it):

=====================  ==========================================================
``<p>:ev:<run>``        a Stream: one entry per event, ids ``0-1``, ``0-2``, ... set
                        by the producer (event id ``n`` is entry ``0-(n+1)``); field
                        ``d`` holds the event's compact JSON, field ``e`` ends the run
``<p>:meta:<run>``      a Hash: ``state`` (``live``, ``closed``, ``lost``), ``producer``
                        (the replica id), ``stop`` (a stop was asked for), and the
                        RUN_ERROR a reader writes if the producer is lost (``lh``/``lt``,
                        the JSON around its timestamp)
``<p>:lease:<run>``     the producer's lease: its replica id, ``PX`` the lease time,
                        renewed while the run produces, deleted when it ends
=====================  ==========================================================

Explicit entry ids fence the producer: whoever writes the next id first wins, so once
a reader has declared a run lost (its RUN_ERROR and end take the next ids), a producer
that was only paused fails its next ``XADD`` instead of writing after the end. Every
key of a run expires ``retention`` after its last renewal or its end, so a replica that
dies leaves nothing behind for longer than that.

Per replica: ``<p>:wake:<replica>``, a one-entry Stream its reader hub blocks on next
to the runs' streams, written to wake the hub when it must follow another run; and the
Pub/Sub channel ``<p>:stop``, on which a stop request names the run to stop.
"""

from __future__ import annotations

__all__ = [
    "CLAIM",
    "CLOSE",
    "DECLARE_LOST",
    "RENEW",
    "REQUEST_STOP",
    "THREAD_ENDED",
    "encode_key",
]

CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'live', 'producer', ARGV[1], 'lh', ARGV[4], 'lt', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
"""
"""KEYS meta, lease; ARGV replica, lease ms, ttl ms, lost-event head, lost-event tail.
1: claimed; 0: the run exists."""

RENEW = """
local out = {}
for i = 1, #KEYS, 3 do
  local meta, lease, events = KEYS[i], KEYS[i + 1], KEYS[i + 2]
  local fields = redis.call('HMGET', meta, 'state', 'producer', 'stop')
  local owner = redis.call('GET', lease)
  local status = 0
  if fields[1] == 'live' and fields[2] == ARGV[1] and (not owner or owner == ARGV[1]) then
    redis.call('SET', lease, ARGV[1], 'PX', ARGV[2])
    redis.call('PEXPIRE', meta, ARGV[3])
    redis.call('PEXPIRE', events, ARGV[3])
    status = 1
    if fields[3] then status = 2 end
  end
  out[#out + 1] = status
end
return out
"""
"""KEYS (meta, lease, events) per run; ARGV replica, lease ms, ttl ms. Per run: 1 renewed,
2 renewed but a stop was asked for, 0 lost (closed, declared lost or expired)."""

CLOSE = """
local fields = redis.call('HMGET', KEYS[1], 'state', 'producer')
if fields[1] ~= 'live' or fields[2] ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[3], ARGV[2], 'e', '1')
redis.call('HSET', KEYS[1], 'state', 'closed')
redis.call('DEL', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
"""
"""KEYS meta, lease, events; ARGV replica, the end entry's id, ttl ms. 1: closed; 0: the run
was not this replica's to close (declared lost, or gone)."""

DECLARE_LOST = """
local fields = redis.call('HMGET', KEYS[1], 'state', 'lh', 'lt', 'producer')
if not fields[1] then return -1 end
if fields[1] ~= 'live' or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local seq = 0
local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if #top > 0 then seq = tonumber(string.match(top[1][1], '%-(%d+)$')) end
local event = fields[2] .. ARGV[1] .. fields[3]
redis.call('XADD', KEYS[3], '0-' .. string.format('%d', seq + 1), 'd', event, 'e', '1')
redis.call('HSET', KEYS[1], 'state', 'lost')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
"""
"""KEYS meta, lease, events; ARGV now (ms), ttl ms. Ends a live run whose lease has expired
with its lost-producer RUN_ERROR. 1: declared lost; 0: alive or already ended; -1: gone."""

REQUEST_STOP = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if state ~= 'live' then return 1 end
redis.call('HSET', KEYS[1], 'stop', '1')
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 2
"""
"""KEYS meta; ARGV channel, run key. 0 unknown, 1 finished, 2 asked to stop."""

THREAD_ENDED = """
local latest = redis.call('HGET', KEYS[1], 'latest')
if latest and latest ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'messages', ARGV[2], 'latest', ARGV[1])
redis.call('HDEL', KEYS[1], 'active')
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], 'interrupts', 'interrupts_run')
else
  redis.call('HSET', KEYS[1], 'interrupts', ARGV[3], 'interrupts_run', ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""
"""KEYS thread; ARGV run id, messages JSON, interrupts JSON ('' for none), their run id,
ttl ms. The end of a run writes its thread only if no newer run started since."""


def encode_key(*parts: str) -> bytes:
    """A Redis key from its parts, joined with ``:``. Ids from clients may hold any
    code point (lone surrogates included, from JSON bodies): they are kept, not refused."""
    return ":".join(parts).encode("utf-8", "surrogatepass")
