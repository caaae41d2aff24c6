"""The gateway's HTTP endpoints: POST /v1/events (the contract's events: one, a JSON array, or
NDJSON), beside /metrics, /healthz and /readyz (streams/plumbing/http.py).

A request is answered 200 only once Kafka acknowledged every event of it (and every dead
letter of the parts that are not events); 503 with Retry-After when Kafka does not, so the
sender retries and nothing is lost; 400 for a body that is not JSON (dead-lettered too), 413
for one over the size limit, 401 without the token when one is set."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from gateway import metrics
from gateway.bodies import Body, NotJson, Rejected, events_of_body
from gateway.settings import GatewaySettings
from gateway.sink import KafkaSink, Message, Unavailable
from scoring import EVENT_TYPES, EVENTS_DEADLETTER, dead_letter, input_topic_of, rfc3339_from_ms
from streams.plumbing.clock import now_ms
from streams.plumbing.http import health_app, json_response, refused_without

log = logging.getLogger("leadtemp.gateway")

RETRY_AFTER_S = 5
# What a dead letter keeps of a body that is not events: enough to see what was sent.
DEAD_LETTER_BYTES = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.Response]]


def gateway_app(settings: GatewaySettings, sink: KafkaSink) -> web.Application:
    token = settings.token.get_secret_value() if settings.token else None
    refusal = refused_without(token)

    async def ready() -> dict[str, bool]:
        return {"kafka": sink.started.is_set()}

    app = health_app(ready, client_max_size=settings.max_body_bytes)

    async def contract_events(request: web.Request) -> web.Response:
        return await accept(request, "events", events_of_body)

    async def accept(request: web.Request, source: str,
                     parse: Callable[[bytes], Body]) -> web.Response:  # fmt: skip
        arrived = time.monotonic()
        if (refused := refusal(request)) is not None:
            metrics.REQUESTS.labels(source, "unauthorized").inc()
            return refused
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            metrics.REQUESTS.labels(source, "too_large").inc()
            return json_response({"error": "too_large", "max_bytes": settings.max_body_bytes},
                                 413)  # fmt: skip
        try:
            parsed = parse(body)
        except NotJson as e:
            parsed, status = Body(rejected=[Rejected("invalid_json", str(e), body)]), 400
        else:
            status = 200
        messages = [_published(settings, event, raw) for event, raw in parsed.events]
        messages += [_dead_letter(settings, source, r) for r in parsed.rejected]
        try:
            await sink.publish(messages)
        except Unavailable:
            metrics.REQUESTS.labels(source, "unavailable").inc()
            return web.Response(body=b'{"error": "kafka_unavailable"}', status=503,
                                content_type="application/json",
                                headers={"Retry-After": str(RETRY_AFTER_S)})  # fmt: skip
        metrics.ACKNOWLEDGED.labels(source).observe(time.monotonic() - arrived)
        for event, _ in parsed.events:
            kind = event.get("type")
            metrics.EVENTS.labels(source, kind if kind in EVENT_TYPES else "unknown").inc()
        for r in parsed.rejected:
            metrics.DEAD_LETTERS.labels(source, r.reason).inc()
        metrics.REQUESTS.labels(source, "accepted" if status == 200 else "invalid").inc()
        answer: dict[str, object] = {"accepted": len(parsed.events),
                                     "dead_lettered": len(parsed.rejected)}  # fmt: skip
        if status != 200:
            answer["error"] = "invalid_json"
        return json_response(answer, status)

    app.router.add_post("/v1/events", contract_events)
    return app


def _published(settings: GatewaySettings, event: dict[str, object], raw: bytes) -> Message:
    topic, key = input_topic_of(event)
    return settings.topic(topic), key.encode() if key is not None else None, raw


def _dead_letter(settings: GatewaySettings, source: str, rejected: Rejected) -> Message:
    record = dead_letter(rejected.reason, rejected.detail, rejected.original[:DEAD_LETTER_BYTES],
                         rfc3339_from_ms(now_ms()), source=f"gateway:{source}")  # fmt: skip
    return settings.topic(EVENTS_DEADLETTER), None, orjson.dumps(record.value)
