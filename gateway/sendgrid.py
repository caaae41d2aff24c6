"""SendGrid's Event Webhook (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/
event) as the contract's email events. The signature is checked with the official `sendgrid`
package's verifier (ECDSA P-256 over the timestamp and the body as sent); the mapping is pure.

| SendGrid `event` | contract |
|---|---|
| delivered | email.sent |
| open | email.opened (`machine_open` kept: SendGrid flags mail-privacy proxies' opens) |
| click | email.clicked, with `url` |
| bounce | email.bounced: `hard` for a bounce, `soft` for a block |
| unsubscribe, group_unsubscribe | email.unsubscribed |
| spamreport | email.spam_reported |
| processed, deferred, dropped | ignored (not the recipient's doing) |
"""

from __future__ import annotations

from typing import Any

import orjson
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader

from gateway.bodies import Body, NotJson, Rejected
from gateway.emails import WITH_CAMPAIGN, email_event
from gateway.sources import SendGrid

TYPES = {
    "delivered": "email.sent", "open": "email.opened", "click": "email.clicked",
    "bounce": "email.bounced", "unsubscribe": "email.unsubscribed",
    "group_unsubscribe": "email.unsubscribed", "spamreport": "email.spam_reported",
}  # fmt: skip
IGNORED = {"processed", "deferred", "dropped"}


class SendGridVerifier:
    def __init__(self, config: SendGrid) -> None:
        self.webhook = EventWebhook(config.public_key.value)
        self.max_age_s = config.max_age_seconds

    def refusal(self, headers: Any, body: bytes, now_s: float) -> str | None:
        """Why a request is not SendGrid's (missing, stale, invalid), or None."""
        signature = headers.get(EventWebhookHeader.SIGNATURE)
        timestamp = headers.get(EventWebhookHeader.TIMESTAMP)
        if not signature or not timestamp:
            return "missing"
        try:
            if abs(now_s - int(timestamp)) > self.max_age_s:
                return "stale"
            valid = self.webhook.verify_signature(body.decode(), signature, timestamp)
        except (ValueError, UnicodeDecodeError):
            return "invalid"
        return None if valid else "invalid"


def sendgrid_events(body: bytes) -> Body:
    """The events of one webhook request (a JSON array of SendGrid events)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotJson("the body is not JSON") from None
    if not isinstance(parsed, list):
        raise NotJson("the body is not a JSON array of events")
    out = Body()
    for n, item in enumerate(parsed, 1):
        raw = orjson.dumps(item)
        if not isinstance(item, dict):
            out.rejected.append(Rejected("invalid_event", f"event {n}: not an object", raw))
            continue
        kind = item.get("event")
        if kind in IGNORED or kind not in TYPES:
            why = kind if kind in IGNORED else "unknown_event"
            out.ignored[str(why)] = out.ignored.get(str(why), 0) + 1
            continue
        event, problem = _event(item, TYPES[kind])
        if event is None:
            out.rejected.append(Rejected("invalid_event", f"event {n}: {problem}", raw))
        else:
            out.events.append((event, orjson.dumps(event)))
    return out


def _event(item: dict[str, Any], kind: str) -> tuple[dict[str, Any] | None, str]:
    event, problem = email_event("sendgrid", kind, item.get("email"), item.get("sg_event_id"),
                                 item.get("timestamp"), ("email", "sg_event_id"))  # fmt: skip
    if event is None:
        return None, problem
    campaign = item.get("campaign_id") or item.get("category")
    if isinstance(campaign, list):
        campaign = campaign[0] if campaign else None
    if isinstance(campaign, str) and kind in WITH_CAMPAIGN:
        event["campaign_id"] = campaign
    if kind == "email.clicked" and isinstance(item.get("url"), str):
        event["url"] = item["url"]
    if kind == "email.bounced":
        event["bounce"] = "soft" if item.get("type") == "blocked" else "hard"
    if kind == "email.opened" and item.get("sg_machine_open") is True:
        event["machine_open"] = True
    return event, ""
