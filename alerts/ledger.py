"""The delivery ledger and the digest holds, in Redis.

Exactly-once effect per (alert, delivery): before sending, a notifier takes a lease on the
delivery's ledger key (SET NX with a TTL); only after the provider accepted the message is the
key set to `done`. A redelivered alert finds `done` (or `held`, `dead`) and is not sent again;
a lease left by a crashed notifier expires, and the message is sent then. The one gap no ledger
can close: a crash after the provider accepted but before `done` was written sends it twice.

Holds: alerts beyond a recipient's rate limit, or in their quiet hours, wait in a hash per
(destination, recipient) and are sent as one digest when due (a sorted set of due times)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import orjson
from redis.asyncio import Redis

from alerts.alert import Alert, Kind, alert_from

DAY_MS = 86_400_000
LEDGER_TTL_MS = 30 * DAY_MS  # longer than Kafka keeps alerts, so a replayed topic sends nothing
Claim = Literal["claimed", "done", "held", "dead", "busy"]

# KEYS: ledger, rate zset, hold hash, due zset, flush lease.
# ARGV: token, now_ms, window_ms (0: no limit), max, alert_id, alert_json, quiet_until_ms,
#       ttl_ms, member (of the due zset).
# Returns "send" (a rate slot was taken), "rate_limit" or "quiet_hours" (held for a digest).
ADMIT = """
local token, now, window, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local quiet_until, ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
local function hold(due, why)
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
  local current = redis.call('ZSCORE', KEYS[4], ARGV[9])
  if (not current) or tonumber(current) < due then redis.call('ZADD', KEYS[4], due, ARGV[9]) end
  redis.call('SET', KEYS[1], 'held', 'PX', ttl)
  return why
end
if redis.call('GET', KEYS[1]) ~= token then return 'lost' end
if quiet_until > 0 then return hold(quiet_until, 'quiet_hours') end
if window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  -- A digest already waiting: join it, so messages keep their order.
  if redis.call('HLEN', KEYS[3]) > 0 then return hold(now, 'rate_limit') end
  if redis.call('ZCARD', KEYS[2]) >= max then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return hold(tonumber(oldest[2]) + window, 'rate_limit')
  end
  redis.call('ZADD', KEYS[2], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], window)
end
return 'send'
"""

# KEYS: ledger. ARGV: token, ttl_ms. Keep a lease only while we still own it.
EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: hold hash, due zset, rate zset, flush lease, then one ledger key per alert.
# ARGV: member, now_ms, window_ms, ttl_ms, digest id, state (done/dead), then the alert ids.
FLUSHED = """
for i = 7, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('SET', KEYS[i - 2], ARGV[6], 'PX', ARGV[4])
end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
if tonumber(ARGV[3]) > 0 then
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
redis.call('DEL', KEYS[4])
return 1
"""


@dataclass(frozen=True)
class Hold:
    """A digest waiting for one (destination, recipient)."""

    destination: str
    person: str | None
    alerts: list[Alert]


class Ledger:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        # One hash tag for all the notifier's keys: its scripts take several of them, which a
        # Redis Cluster allows within one slot (the notifier's state is small).
        self.prefix = f"{{{prefix}alerts}}:"
        self.token = f"sending:{uuid.uuid4().hex}"  # this process's leases
        self._admit = redis.register_script(ADMIT)
        self._extend = redis.register_script(EXTEND)
        self._flushed = redis.register_script(FLUSHED)

    def key(self, alert_id: str, delivery_key: str) -> str:
        return f"{self.prefix}delivery:{alert_id}:{delivery_key}"

    def _member(self, destination: str, person: str | None) -> str:
        return f"{destination}\x1f{person or ''}"

    def _hold_keys(self, member: str) -> tuple[str, str, str, str]:
        """Rate zset, hold hash, due zset, flush lease of one (destination, recipient)."""
        p = self.prefix
        return f"{p}rate:{member}", f"{p}held:{member}", f"{p}holds", f"{p}flushing:{member}"

    async def claim(self, alert_id: str, delivery_key: str, lease_ms: int) -> Claim:
        """Take the lease on a delivery, or say why not: already done, held, dead, or another
        notifier (or a crashed one whose lease has not expired) has it."""
        key = self.key(alert_id, delivery_key)
        if await self.redis.set(key, self.token, nx=True, px=lease_ms):
            return "claimed"
        state = await self.redis.get(key)
        state = state.decode() if isinstance(state, bytes) else state
        if state == self.token:
            await self.extend(alert_id, delivery_key, lease_ms)
            return "claimed"
        if state in ("done", "held", "dead"):
            return state  # type: ignore[return-value]
        return "busy" if state is not None else await self.claim(alert_id, delivery_key, lease_ms)

    async def extend(self, alert_id: str, delivery_key: str, lease_ms: int) -> bool:
        """Keep the lease during a long retry; False if it was lost."""
        return bool(await self._extend(keys=[self.key(alert_id, delivery_key)],
                                       args=[self.token, lease_ms]))  # fmt: skip

    async def admit(
        self, alert: Alert, delivery_key: str, destination: str, person: str | None,
        now_ms: int, limit: tuple[int, int] | None, quiet_until_ms: int,
    ) -> str:  # fmt: skip
        """'send' (a rate slot is taken), or 'rate_limit'/'quiet_hours' (held for a digest),
        or 'lost' (the lease expired: someone else may be sending it)."""
        member = self._member(destination, person)
        rate, held, due, flushing = self._hold_keys(member)
        window_ms, max_messages = (limit[1], limit[0]) if limit else (0, 0)
        value = orjson.dumps({"kind": alert.kind, "alert": alert.original()})
        answer = await self._admit(
            keys=[self.key(alert.alert_id, delivery_key), rate, held, due, flushing],
            args=[self.token, now_ms, window_ms, max_messages, alert.alert_id, value,
                  quiet_until_ms, LEDGER_TTL_MS, member],
        )  # fmt: skip
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    async def done(self, alert_id: str, delivery_key: str) -> None:
        """The provider accepted it: never send it again."""
        await self.redis.set(self.key(alert_id, delivery_key), "done", px=LEDGER_TTL_MS)

    async def dead(self, alert_id: str, delivery_key: str) -> None:
        """Dead-lettered: a redelivery must not dead-letter (or send) it again."""
        await self.redis.set(self.key(alert_id, delivery_key), "dead", px=LEDGER_TTL_MS)

    async def release(self, alert_id: str, delivery_key: str) -> None:
        """Give the lease back without an effect (shutting down mid-retry)."""
        key = self.key(alert_id, delivery_key)
        if await self.redis.get(key) == self.token.encode():
            await self.redis.delete(key)

    async def due_holds(self, now_ms: int, lease_ms: int, limit: int = 100) -> list[Hold]:
        """Holds whose digest may be sent now, each leased to this process."""
        members = await self.redis.zrangebyscore(f"{self.prefix}holds", "-inf", now_ms,
                                                 start=0, num=limit)  # fmt: skip
        out = []
        for raw in members:
            member = raw.decode() if isinstance(raw, bytes) else str(raw)
            _, held, _, flushing = self._hold_keys(member)
            if not await self.redis.set(flushing, self.token, nx=True, px=lease_ms):
                continue
            entries = await self.redis.hgetall(held)
            alerts = []
            for value in entries.values():
                item = orjson.loads(value)
                kind: Kind = item["kind"]
                alerts.append(alert_from(kind, item["alert"]))
            alerts.sort(key=lambda a: (a.occurred_at, a.alert_id))
            destination, _, person = member.partition("\x1f")
            out.append(Hold(destination, person or None, alerts))
        return out

    async def hold_sent(
        self, hold: Hold, delivery_key: str, now_ms: int, window_ms: int, state: str = "done"
    ) -> None:
        """The digest was accepted (or dead-lettered, state "dead"): its alerts leave the hold
        and, when sent, it takes one rate slot."""
        member = self._member(hold.destination, hold.person)
        rate, held, due, flushing = self._hold_keys(member)
        ids = [a.alert_id for a in hold.alerts]
        ledger_keys = [self.key(i, delivery_key) for i in ids]
        await self._flushed(
            keys=[held, due, rate, flushing, *ledger_keys],
            args=[member, now_ms, window_ms if state == "done" else 0, LEDGER_TTL_MS,
                  f"digest:{uuid.uuid4().hex}", state, *ids],
        )  # fmt: skip

    async def hold_failed(self, hold: Hold) -> None:
        """Let another attempt (or process) flush it later."""
        member = self._member(hold.destination, hold.person)
        await self.redis.delete(self._hold_keys(member)[3])
