"""Fixtures for the notifier: fake providers over real HTTP, a real Redis, alerts to send."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from redis.asyncio import Redis

from alerts.ledger import Ledger
from alerts.notifier import Notifier
from alerts.routing import Routing, routing_from_mapping
from alerts.settings import NotifierSettings
from tests.alerts.providers import (
    SLACK_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_PATH,
    Providers,
)
from tests.conftest import Services

ALERT: dict[str, Any] = {
    "alert_id": "9a0c0000000000000000000000000001",
    "lead_id": "lead-1001",
    "account_id": "acme-robotics.com",
    "priority": "P1",
    "occurred_at": "2026-11-20T14:03:11Z",
    "respond_by": "2026-11-20T14:08:11Z",
    "caused_by_event_id": "evt-2f9c1e",
    "scores": {"fit": 15, "engagement": 38.2, "intent": 25.0, "bant": 3, "total": 53.2},
    "reasons": ["auto_sql:demo_request", "intent>=25", "total>=50", "bant>=3"],
    "top_signals": [
        {"signal": "demo_request", "kind": "intent", "points": 15.0, "at": "2026-11-20T14:03:11Z"},
        {"signal": "demo_request", "kind": "engagement", "points": 15.0,
         "at": "2026-11-20T14:03:11Z"},
    ],
    "contact": {"name": "Lisa Chen", "email": "lisa.chen@acme-robotics.com",
                "job_title": "VP Operations", "company": "Acme Robotics", "country": "US"},
    "routing": {"segment": "enterprise", "region": "NA"},
    "rules_version": "default",
}  # fmt: skip

SECRETS = {
    "SLACK_WEBHOOK_URL": "",  # filled with the providers' URL
    "SLACK_BOT_TOKEN": SLACK_TOKEN,
    "TWILIO_ACCOUNT_SID": TWILIO_SID,
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "HOOK_SECRET": "whsec-test-signing-secret",
}


def alert(n: int = 1, **changes: Any) -> dict[str, Any]:
    """The outputs.md example alert with a distinct id, and any fields changed."""
    a = copy.deepcopy(ALERT)
    a["alert_id"] = f"{n:032x}"
    a["lead_id"] = f"lead-{n}"
    a.update(changes)
    return a


def environ(providers: Providers) -> dict[str, str]:
    return {**SECRETS, "SLACK_WEBHOOK_URL": providers.url + WEBHOOK_PATH}


def routing_for(providers: Providers, **document: Any) -> Routing:
    """A routing file whose destinations are the fake providers (unless `document` says)."""
    base: dict[str, Any] = {
        "destinations": {
            "team-slack": {"type": "slack_webhook", "webhook_url": {"env": "SLACK_WEBHOOK_URL"},
                           "timeout_seconds": 2},
            "rep-slack": {"type": "slack_api", "token": {"env": "SLACK_BOT_TOKEN"},
                          "base_url": providers.url + "/api/", "timeout_seconds": 2},
            "rep-sms": {"type": "twilio_sms", "account_sid": {"env": "TWILIO_ACCOUNT_SID"},
                        "auth_token": {"env": "TWILIO_AUTH_TOKEN"}, "from": "+15005550006",
                        "base_url": providers.url, "timeout_seconds": 2},
            "crm-hook": {"type": "webhook", "url": providers.url + "/hook",
                         "signing_secret": {"env": "HOOK_SECRET"}, "timeout_seconds": 2},
        },
        "people": {
            "ana": {"name": "Ana Ruiz", "slack": "U0ANA", "phone": "+14155550101",
                    "timezone": "America/Los_Angeles"},
            "max": {"name": "Max Bauer", "slack": "U0MAX", "phone": "+14155550102",
                    "timezone": "America/New_York"},
        },
        "owners": [{"match": {"region": "NA"}, "rep": "ana", "manager": "max"}],
        "retry": {"max_attempts": 6, "max_seconds": 30, "base_seconds": 0.05,
                  "max_backoff_seconds": 0.2},
        "default": ["team-slack"],
    }  # fmt: skip
    base.update(document)
    return routing_from_mapping(base, environ=environ(providers))


class Harness:
    """A Notifier in this process over real Redis and real HTTP; dead letters are collected."""

    def __init__(self, services: Services, prefix: str, routing: Routing) -> None:
        self.services = services
        self.prefix = prefix
        self.routing = routing
        self.dead_letters: list[tuple[str, bytes, bytes]] = []

    async def _with_notifier(self, work: Any) -> Any:
        redis = Redis.from_url(self.services.redis_url)

        async def publish(topic: str, key: bytes, value: bytes) -> None:
            self.dead_letters.append((topic, key, value))

        settings = NotifierSettings(redis_prefix=self.prefix, lease_ms=2_000)
        notifier = Notifier(settings, self.routing, Ledger(redis, self.prefix), publish)
        try:
            return await work(notifier)
        finally:
            for s in notifier.senders.values():
                await s.close()
            await redis.aclose()

    def handle(self, *alerts: dict[str, Any], kind: str = "hot_lead") -> None:
        """Run every delivery of these alerts to its end."""
        import orjson

        async def work(n: Notifier) -> None:
            for a in alerts:
                await n.handle(kind, orjson.dumps(a), {"topic": "t", "partition": 0, "offset": 0})  # type: ignore[arg-type]

        asyncio.run(self._with_notifier(work))

    def flush(self) -> int:
        return int(asyncio.run(self._with_notifier(lambda n: n.flush_due_holds())))


@pytest.fixture
def harness(services: Services, redis_prefix: str, providers: Providers) -> Any:
    def make(**document: Any) -> Harness:
        return Harness(services, redis_prefix, routing_for(providers, **document))

    return make
