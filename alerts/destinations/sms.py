"""SMS through Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json).

Plain aiohttp against the documented REST API rather than the `twilio` package: its client
cannot be pointed at another host without touching private attributes, and its exceptions do
not carry the Retry-After header that a 429 needs."""

from __future__ import annotations

from base64 import b64encode

import aiohttp

from alerts.alert import Alert
from alerts.destinations.base import Delivered, Failed, Outcome, Retry, outcome_of_status
from alerts.messages import crm_link, sms_body, sms_digest
from alerts.routing import Person, TwilioSmsDestination

# Twilio error codes that are about the recipient, not the request: never worth a retry.
PERMANENT_CODES = {21211: "invalid_to_number", 21610: "recipient_unsubscribed",
                   21614: "not_a_mobile_number", 21408: "region_not_enabled"}  # fmt: skip


class TwilioSmsSender:
    kind = "twilio_sms"

    def __init__(self, dest: TwilioSmsDestination, crm_url: str | None = None) -> None:
        self.dest = dest
        self.crm_url = crm_url
        self._session: aiohttp.ClientSession | None = None
        sid = dest.account_sid.value
        self.url = f"{dest.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            user_password = f"{self.dest.account_sid.value}:{self.dest.auth_token.value}"
            self._session = aiohttp.ClientSession(
                headers={"Authorization": "Basic " + b64encode(user_password.encode()).decode()},
                timeout=aiohttp.ClientTimeout(total=self.dest.timeout_seconds),
            )
        return self._session

    async def send(self, alerts: list[Alert], person: Person | None) -> Outcome:
        to = (person.phone if person else None) or self.dest.to
        if not to:
            return Failed("no_recipient: neither the owner's phone nor `to` is set")
        zone = person.timezone if person and person.phone else self.dest.timezone
        if len(alerts) == 1:
            body = sms_body(alerts[0], zone, crm_link(self.crm_url, alerts))
        else:
            body = sms_digest(alerts, zone)
        form = {"To": to, "From": self.dest.from_, "Body": body}
        try:
            async with self._client().post(self.url, data=form) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = {}
                if not isinstance(answer, dict):
                    answer = {}
                if response.status in (200, 201):
                    return Delivered(str(answer.get("sid") or "") or None)
                code = answer.get("code")
                if isinstance(code, int) and code in PERMANENT_CODES:
                    return Failed(f"{PERMANENT_CODES[code]} ({code})", response.status)
                reason = f"twilio {code}: {answer.get('message', '')}".strip() if code else ""
                return outcome_of_status(
                    response.status, reason[:200], response.headers.get("Retry-After")
                )
        except (TimeoutError, aiohttp.ClientError) as e:
            return Retry(f"network: {type(e).__name__}")

    def describe(self) -> str:
        return f"twilio_sms {self.dest.base_url} account=*** from={self.dest.from_}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
