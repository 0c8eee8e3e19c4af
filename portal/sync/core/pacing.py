"""Per-account pacing of Google writes across every worker: a token bucket in Redis.

Google counts each request, and each part of a batch, against a per-user quota. However many
workers sync one account (one big calendar, several mappings, several machines), they draw
from one bucket keyed by that Google account, so scale-out never becomes a storm of
``rateLimitExceeded``. When Google does answer with a rate limit and a ``Retry-After``, the
whole account pauses that long, for every worker.

The bucket lives in Redis and uses Redis' clock, so workers on several machines agree.
"""
import time

#: refill ``rate`` tokens a second up to ``burst``; take ``n`` if there, else say how long
#: to wait (ms). A pause set after Google's Retry-After wins over the tokens.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
if pause > now_ms then return pause - now_ms end
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now_ms
tokens = math.min(burst, tokens + (now_ms - ts) * rate / 1000)
local wait = 0
if tokens >= n then
  tokens = tokens - n
else
  wait = math.ceil((n - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now_ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
"""

_PAUSE = """
local now = redis.call('TIME')
local until_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000) end
return until_ms
"""


class Pacer:
    """Writes to one Google account at ``rate`` per second (bursts up to ``burst``), shared
    by every process using the same Redis. ``sleep`` is injectable for tests."""

    def __init__(self, redis, account, rate, burst=None, sleep=time.sleep):
        self.redis = redis
        self.rate = float(rate)
        self.burst = float(burst or max(rate, 50))
        self.key = f"portal:pace:{account.lower()}"
        self.sleep = sleep
        #: seconds this pacer waited in all (the bench reports it)
        self.waited = 0.0

    def acquire(self, n=1):
        """Block until ``n`` writes may go (a request larger than the burst takes the burst,
        then the rest as it refills)."""
        left = float(n)
        while left > 0:
            take = min(left, self.burst)
            wait_ms = int(self.redis.eval(_TAKE, 2, self.key, self.key + ":pause",
                                          self.rate, self.burst, take))
            if wait_ms <= 0:
                left -= take
                continue
            self.waited += wait_ms / 1000
            self.sleep(wait_ms / 1000)

    def pause(self, seconds):
        """Google asked every request of this account to wait ``seconds`` (Retry-After)."""
        if seconds and seconds > 0:
            self.redis.eval(_PAUSE, 1, self.key + ":pause", int(seconds * 1000))


def pacer_for(redis, config, account):
    """The account's pacer as configured (``GOOGLE_WRITES_PER_SECOND``, 0 or unset: off)."""
    rate = float(config.get("GOOGLE_WRITES_PER_SECOND") or 0)
    if rate <= 0 or not account:
        return None
    return Pacer(redis, account, rate, config.get("GOOGLE_WRITE_BURST") or None)
