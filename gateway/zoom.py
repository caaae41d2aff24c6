"""Zoom's webinar webhooks (https://developers.zoom.us/docs/api/webhooks/) as
`webinar.attended`. Requests are signed (`x-zm-signature: v0=<hex HMAC-SHA256 of
"v0:<x-zm-request-timestamp>:<body>" under the app's secret token>`; the standard library's
hmac), and Zoom checks the endpoint first with a challenge (`endpoint.url_validation`: the
answer is the plainToken and its HMAC). A participant's minutes come from its join/leave
pairs, kept in Redis (gateway/attendance.py) until the webinar ends, when one event per
participant is emitted with the total: one, so that leaving and joining again does not count
as attending twice. Pure, but for the state."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson
from redis.exceptions import RedisError

from gateway.attendance import Attendance
from gateway.bodies import Body, NotJson
from gateway.sink import Unavailable
from gateway.sources import Zoom
from scoring import ms_from_rfc3339, rfc3339_from_ms


class ZoomVerifier:
    def __init__(self, config: Zoom) -> None:
        self.secret = config.secret_token.value.encode()
        self.max_age_s = config.max_age_seconds

    def refusal(self, headers: Any, body: bytes, now_s: float) -> str | None:
        """Why a request is not Zoom's (missing, stale, invalid), or None."""
        given, timestamp = headers.get("x-zm-signature"), headers.get("x-zm-request-timestamp")
        if not given or not timestamp:
            return "missing"
        if not timestamp.isdigit() or abs(now_s - int(timestamp)) > self.max_age_s:
            return "stale"
        message = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.secret, message, hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, given) else "invalid"

    def validation_answer(self, plain_token: str) -> dict[str, str]:
        """The answer to Zoom's endpoint URL validation challenge."""
        encrypted = hmac.new(self.secret, plain_token.encode(), hashlib.sha256).hexdigest()
        return {"plainToken": plain_token, "encryptedToken": encrypted}


@dataclass(frozen=True)
class Challenge:
    plain_token: str


@dataclass(frozen=True)
class Presence:
    """A participant joined (`joined`) or left a webinar, at `at` (ms)."""

    webinar: str  # the webinar instance's uuid
    webinar_id: str
    email: str
    name: str | None
    joined: bool
    at: int


@dataclass(frozen=True)
class Ended:
    webinar: str
    webinar_id: str
    at: int


@dataclass(frozen=True)
class Ignored:
    why: str


Call = Challenge | Presence | Ended | Ignored


def zoom_call(body: bytes) -> Call:
    """What one webhook request says."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotJson("the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise NotJson("the body is not a JSON object")
    event, payload = parsed.get("event"), parsed.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    if event == "endpoint.url_validation":
        token = payload.get("plainToken")
        if not isinstance(token, str) or not token:
            raise NotJson("endpoint.url_validation without a plainToken")
        return Challenge(token)
    if event not in ("webinar.participant_joined", "webinar.participant_left", "webinar.ended"):
        return Ignored(str(event) if isinstance(event, str) else "no_event")
    webinar = payload.get("object")
    webinar = webinar if isinstance(webinar, dict) else {}
    uuid, webinar_id = webinar.get("uuid"), webinar.get("id")
    if not isinstance(uuid, str) or not uuid:
        raise NotJson(f"{event} without object.uuid")
    wid = str(webinar_id) if webinar_id is not None else uuid
    if event == "webinar.ended":
        return Ended(uuid, wid, _ms(webinar.get("end_time"), parsed.get("event_ts")))
    participant = webinar.get("participant")
    participant = participant if isinstance(participant, dict) else {}
    email = participant.get("email")
    if not isinstance(email, str) or not email.strip():
        return Ignored("no_email")  # a guest Zoom knows by name only: no lead to credit
    joined = event == "webinar.participant_joined"
    at = _ms(participant.get("join_time" if joined else "leave_time"), parsed.get("event_ts"))
    name = participant.get("user_name")
    return Presence(uuid, wid, email.strip(), name if isinstance(name, str) else None, joined, at)


def attended(ended: Ended, email: str, name: str | None, minutes: float) -> dict[str, Any]:
    """The one webinar.attended of a participant, when the webinar ended."""
    lead: dict[str, Any] = {"id": email.lower(), "email": email}
    if name:
        lead["name"] = name
    return {"event_id": f"zoom:{ended.webinar}:{email.lower()}", "type": "webinar.attended",
            "occurred_at": rfc3339_from_ms(ended.at), "webinar_id": ended.webinar_id,
            "minutes_attended": round(minutes, 1), "lead": lead, "source": "zoom"}  # fmt: skip


def _ms(when: Any, event_ts: Any) -> int:
    if isinstance(when, str):
        try:
            return ms_from_rfc3339(when)
        except ValueError:
            pass
    if isinstance(event_ts, int | float) and not isinstance(event_ts, bool):
        return int(event_ts)
    raise NotJson("no time: neither the participant's time nor event_ts")


async def zoom_body(body: bytes, verifier: ZoomVerifier, attendance: Attendance) -> Body:
    """One webhook request: the challenge's answer; a join or leave recorded (no event yet);
    at the webinar's end, one webinar.attended per participant, the state forgotten once
    they are published. Unavailable when Redis does not answer."""
    call = zoom_call(body)
    out = Body()
    try:
        if isinstance(call, Challenge):
            out.reply = verifier.validation_answer(call.plain_token)
        elif isinstance(call, Ignored):
            out.ignored[call.why] = 1
        elif isinstance(call, Presence):
            await attendance.record(call)
            out.reply = {"recorded": "joined" if call.joined else "left"}
        else:
            for email, name, minutes in await attendance.totals(call.webinar, call.at):
                event = attended(call, email, name, minutes)
                out.events.append((event, orjson.dumps(event)))
            webinar = call.webinar
            out.after = lambda: attendance.forget(webinar)
    except (RedisError, OSError) as e:
        raise Unavailable("redis", type(e).__name__) from None
    return out
