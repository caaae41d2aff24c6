"""Who is in which webinar, in Redis: for each webinar instance one hash (one key, so one slot
of a Redis Cluster) of each participant's open join and accumulated milliseconds, until the
webinar ends and its attendance is published; kept a week at most, for a webinar whose end
never comes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.zoom import Presence

KEEP_S = 7 * 86_400
# KEYS[1]: the webinar's hash. ARGV: participant, time (ms), "1" joined / "0" left, name.
PRESENCE = """
local p = ARGV[1]
if ARGV[3] == '1' then
  redis.call('HSETNX', KEYS[1], p .. '|joined', ARGV[2])
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], p .. '|name', ARGV[4]) end
else
  local joined = redis.call('HGET', KEYS[1], p .. '|joined')
  if joined then
    local spent = tonumber(ARGV[2]) - tonumber(joined)
    if spent > 0 then redis.call('HINCRBY', KEYS[1], p .. '|ms', spent) end
    redis.call('HDEL', KEYS[1], p .. '|joined')
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class Attendance:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._presence = redis.register_script(PRESENCE)

    def key(self, webinar: str) -> str:
        return f"{self.prefix}zoom:{{{webinar}}}"

    async def record(self, p: Presence) -> None:
        await self._presence(keys=[self.key(p.webinar)],
                             args=[p.email, p.at, "1" if p.joined else "0", p.name or "",
                                   KEEP_S])  # fmt: skip

    async def totals(self, webinar: str, ended_at: int) -> list[tuple[str, str | None, float]]:
        """(email, name, minutes) of everyone who was in the webinar; a participant still in
        it is counted up to its end."""
        raw = await self.redis.hgetall(self.key(webinar))
        fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes)
                  else v) for k, v in raw.items()}  # fmt: skip
        people: dict[str, dict[str, str]] = {}
        for field, value in fields.items():
            who, _, what = field.rpartition("|")
            people.setdefault(who, {})[what] = value
        out = []
        for who, facts in sorted(people.items()):
            spent = int(facts.get("ms", 0))
            if "joined" in facts:
                spent += max(0, ended_at - int(facts["joined"]))
            out.append((who, facts.get("name"), spent / 60_000))
        return out

    async def forget(self, webinar: str) -> None:
        """Once its attendance is published."""
        await self.redis.delete(self.key(webinar))
