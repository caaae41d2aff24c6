"""A generic webhook: a JSON POST signed with HMAC-SHA256 so the receiver can verify it.

Headers: `X-Leadtemp-Timestamp` (unix seconds), `X-Leadtemp-Signature` (`v1=<hex of
HMAC-SHA256(secret, "<timestamp>.<body>")>`), `X-Leadtemp-Delivery` (stable per alert and
destination: receivers drop repeats by it)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import aiohttp
import orjson

from alerts.alert import Alert
from alerts.destinations.base import Delivered, Outcome, Retry, outcome_of_status
from alerts.routing import Person, WebhookDestination

SIGNATURE_HEADER = "X-Leadtemp-Signature"
TIMESTAMP_HEADER = "X-Leadtemp-Timestamp"
DELIVERY_HEADER = "X-Leadtemp-Delivery"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Leadtemp-Signature` value of a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, header: str, now: float | None = None,
    tolerance_s: int = 300,
) -> bool:  # fmt: skip
    """What a receiver runs: the signature matches and the timestamp is recent (no replays)."""
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), header)


def payload(alerts: list[Alert]) -> dict[str, Any]:
    """One alert as published by the worker, or a digest of several."""
    if len(alerts) == 1:
        return {"type": alerts[0].kind, "alert": alerts[0].original()}
    return {"type": "digest", "alerts": [{"type": a.kind, "alert": a.original()} for a in alerts]}


class WebhookSender:
    kind = "webhook"

    def __init__(self, dest: WebhookDestination, crm_url: str | None = None) -> None:
        self.dest = dest
        self._session: aiohttp.ClientSession | None = None

    async def send(self, alerts: list[Alert], person: Person | None) -> Outcome:
        body = orjson.dumps(payload(alerts))
        ts = int(time.time())
        delivery = hashlib.sha256(
            ("|".join(a.alert_id for a in alerts) + "|" + self.dest.url).encode()
        ).hexdigest()[:32]
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: signature(self.dest.signing_secret.value, ts, body),
            DELIVERY_HEADER: delivery,
        }
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.dest.timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.post(self.dest.url, data=body, headers=headers) as response:
                text = (await response.text())[:200]
                outcome = outcome_of_status(
                    response.status, text.strip(), response.headers.get("Retry-After")
                )
                return Delivered() if isinstance(outcome, Delivered) else outcome
        except (TimeoutError, aiohttp.ClientError) as e:
            return Retry(f"network: {type(e).__name__}")

    def describe(self) -> str:
        scheme, _, rest = self.dest.url.partition("://")
        return f"webhook {scheme}://{rest.split('/', 1)[0]}/…"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
