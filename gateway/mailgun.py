"""Mailgun's webhooks (https://documentation.mailgun.com/docs/mailgun/user-manual/events/
webhooks/) as the contract's email events. Each request is one event, signed: the hex
HMAC-SHA256, under the webhook signing key, of the timestamp and the token it carries (the
standard library's hmac; Mailgun ships no Python verifier). The mapping is pure.

| Mailgun `event` | contract |
|---|---|
| delivered | email.sent |
| opened | email.opened |
| clicked | email.clicked, with `url` |
| unsubscribed | email.unsubscribed |
| complained | email.spam_reported |
| failed | email.bounced: `hard` when `severity` is permanent, else `soft` |
| accepted, rejected, stored, list_member_uploaded… | ignored |
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from gateway.bodies import Body, NotJson, Rejected
from gateway.emails import WITH_CAMPAIGN, email_event
from gateway.sources import Mailgun

TYPES = {"delivered": "email.sent", "opened": "email.opened", "clicked": "email.clicked",
         "unsubscribed": "email.unsubscribed", "complained": "email.spam_reported",
         "failed": "email.bounced"}  # fmt: skip


class MailgunVerifier:
    def __init__(self, config: Mailgun) -> None:
        self.key = config.signing_key.value.encode()
        self.max_age_s = config.max_age_seconds

    def refusal(self, body: bytes, now_s: float) -> str | None:
        """Why a request is not Mailgun's (missing, stale, invalid), or None."""
        try:
            signature = orjson.loads(body).get("signature")
        except (orjson.JSONDecodeError, AttributeError):
            return "missing"
        if not isinstance(signature, dict):
            return "missing"
        timestamp, token, given = (signature.get(k) for k in ("timestamp", "token", "signature"))
        if not all(isinstance(v, str) and v for v in (timestamp, token, given)):
            return "missing"
        assert isinstance(timestamp, str) and isinstance(token, str) and isinstance(given, str)
        if not timestamp.isdigit() or abs(now_s - int(timestamp)) > self.max_age_s:
            return "stale"
        expected = hmac.new(self.key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, given) else "invalid"


def mailgun_events(body: bytes) -> Body:
    """The event of one webhook request (`{"signature": …, "event-data": …}`)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotJson("the body is not JSON") from None
    data = parsed.get("event-data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict):
        raise NotJson("the body has no event-data object")
    out = Body()
    kind = data.get("event")
    if kind not in TYPES:
        why = str(kind) if isinstance(kind, str) else "no_event"
        out.ignored[why] = 1
        return out
    event, problem = _event(data, TYPES[kind])
    if event is None:
        out.rejected.append(Rejected("invalid_event", problem, orjson.dumps(data)))
    else:
        out.events.append((event, orjson.dumps(event)))
    return out


def _event(data: dict[str, Any], kind: str) -> tuple[dict[str, Any] | None, str]:
    event, problem = email_event("mailgun", kind, data.get("recipient"), data.get("id"),
                                 data.get("timestamp"), ("recipient", "id"))  # fmt: skip
    if event is None:
        return None, problem
    variables = data.get("user-variables")
    tags = data.get("tags")
    campaign = (variables.get("campaign_id") if isinstance(variables, dict) else None) or (
        tags[0] if isinstance(tags, list) and tags else None)
    if isinstance(campaign, str) and kind in WITH_CAMPAIGN:
        event["campaign_id"] = campaign
    if kind == "email.clicked" and isinstance(data.get("url"), str):
        event["url"] = data["url"]
    if kind == "email.bounced":
        event["bounce"] = "hard" if data.get("severity") == "permanent" else "soft"
    return event, ""
