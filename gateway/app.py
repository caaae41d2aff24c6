"""The gateway's HTTP endpoints: POST /v1/events (the contract's events: one, a JSON array, or
NDJSON) and, where the sources file turns them on, Segment's HTTP Tracking API (/v1/page,
/v1/track, /v1/identify, /v1/batch, …: gateway/segment.py), SendGrid's signed Event Webhook
(/v1/sendgrid/events), Mailgun's webhooks (/v1/mailgun/events) and Typeform's
(/v1/typeform/responses), Zoom's webinar webhooks (/v1/zoom/events) and forms of your own
(/v1/forms/<name>), beside /metrics, /healthz and /readyz (streams/plumbing/http.py).

A request is answered 200 only once Kafka acknowledged every event of it (and every dead
letter of the parts that are not events); 503 with Retry-After when Kafka does not, so the
sender retries and nothing is lost; 400 for a body that does not parse (dead-lettered too),
413 for one over the size limit, 401 when the request is not authenticated."""

from __future__ import annotations

import base64
import binascii
import hmac
import inspect
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from limits import parse as parse_limit
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter

from gateway import metrics
from gateway.attendance import Attendance
from gateway.bodies import Body, NotJson, Rejected, events_of_body
from gateway.forms import form_events, token_refusal
from gateway.mailgun import MailgunVerifier, mailgun_events
from gateway.segment import calls_of_body
from gateway.sendgrid import SendGridVerifier, sendgrid_events
from gateway.settings import GatewaySettings
from gateway.sink import KafkaSink, Message, Unavailable
from gateway.sources import Segment, Sources
from gateway.typeform import TypeformVerifier, typeform_events
from gateway.zoom import ZoomVerifier, zoom_body
from scoring import EVENT_TYPES, EVENTS_DEADLETTER, dead_letter, input_topic_of, rfc3339_from_ms
from streams.plumbing.clock import now_ms
from streams.plumbing.http import health_app, json_response, refused_without

log = logging.getLogger("leadtemp.gateway")

RETRY_AFTER_S = 5
# What a dead letter keeps of a body that is not events: enough to see what was sent.
DEAD_LETTER_BYTES = 64 * 1024
SEGMENT_CALLS = ("page", "track", "identify", "screen", "group", "alias", "batch")

Handler = Callable[[web.Request], Awaitable[web.Response]]
# Why a request is refused ("unauthorized", or a signature's "missing", "stale", "invalid"),
# or None when it is the sender's.
Refusal = Callable[[web.Request, bytes], str | None]


def gateway_app(
    settings: GatewaySettings, sink: KafkaSink, sources: Sources, redis: Any = None
) -> web.Application:
    """The endpoints of the sources turned on; `redis` holds Zoom's attendance (needed with
    Zoom)."""
    token = settings.token.get_secret_value() if settings.token else None
    refusal = refused_without(token)

    async def ready() -> dict[str, bool]:
        return {"kafka": sink.started.is_set()}

    app = health_app(ready, client_max_size=settings.max_body_bytes)
    rates = RateLimits(settings)

    def endpoint(
        source: str, refused: Refusal, parse: Callable[[bytes], Body | Awaitable[Body]],
        answer: Callable[[Body], dict[str, object]], key: str = "",
    ) -> Handler:  # fmt: skip
        """A source's handler; `key`: what its per-key limit counts (none: only the source's)."""
        async def handler(request: web.Request) -> web.Response:
            arrived = time.monotonic()
            if (wait := await rates.retry_after(source, key)) is not None:
                metrics.REQUESTS.labels(source, "rate_limited").inc()
                return web.Response(body=b'{"error": "rate_limited"}', status=429,
                                    content_type="application/json",
                                    headers={"Retry-After": str(wait)})  # fmt: skip
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                metrics.REQUESTS.labels(source, "too_large").inc()
                return json_response({"error": "too_large",
                                      "max_bytes": settings.max_body_bytes}, 413)  # fmt: skip
            if (why := refused(request, body)) is not None:
                metrics.REQUESTS.labels(source, "unauthorized").inc()
                if why != "unauthorized":
                    metrics.SIGNATURE_FAILURES.labels(source, why).inc()
                return json_response({"error": "unauthorized"}, 401)
            try:
                try:
                    result = parse(body)
                    parsed, status = (await result if inspect.isawaitable(result) else result), 200
                    messages = [_published(settings, event, raw) for event, raw in parsed.events]
                except NotJson as e:
                    parsed, status = Body(rejected=[Rejected("invalid_json", str(e), body)]), 400
                    messages = []
                messages += [_dead_letter(settings, source, r) for r in parsed.rejected]
                await sink.publish(messages)
                if parsed.after is not None:
                    await parsed.after()
            except Unavailable as e:
                metrics.REQUESTS.labels(source, "unavailable").inc()
                return web.Response(body=orjson.dumps({"error": f"{e.service}_unavailable"}),
                                    status=503, content_type="application/json",
                                    headers={"Retry-After": str(RETRY_AFTER_S)})  # fmt: skip
            metrics.ACKNOWLEDGED.labels(source).observe(time.monotonic() - arrived)
            # Counted by type, once a request: a label lookup an event was 8% of a batch's cost.
            for kind, n in Counter(e.get("type") for e, _ in parsed.events).items():
                metrics.EVENTS.labels(source, kind if kind in EVENT_TYPES else "unknown").inc(n)
            for r in parsed.rejected:
                metrics.DEAD_LETTERS.labels(source, r.reason).inc()
            for why, n in parsed.ignored.items():
                metrics.IGNORED.labels(source, why).inc(n)
            metrics.REQUESTS.labels(source, "accepted" if status == 200 else "invalid").inc()
            if status != 200:
                return json_response({"error": "invalid_json", "detail": parsed.rejected[0].detail},
                                     400)  # fmt: skip
            return json_response(parsed.reply if parsed.reply is not None else answer(parsed))

        return handler

    def bearer(request: web.Request, _: bytes) -> str | None:
        return None if refusal(request) is None else "unauthorized"

    def counts(parsed: Body) -> dict[str, object]:
        return {"accepted": len(parsed.events), "dead_lettered": len(parsed.rejected)}

    app.router.add_post("/v1/events", endpoint("events", bearer, events_of_body, counts))
    if sources.segment is not None:
        segment = sources.segment

        def segment_answer(parsed: Body) -> dict[str, object]:
            return {"success": True, **counts(parsed), "ignored": sum(parsed.ignored.values())}

        handler = endpoint("segment", write_key_check(segment),
                           lambda body: calls_of_body(body, segment, rfc3339_from_ms(now_ms())),
                           segment_answer)  # fmt: skip
        for call in SEGMENT_CALLS:
            app.router.add_post(f"/v1/{call}", handler)
    if sources.sendgrid is not None:
        verifier = SendGridVerifier(sources.sendgrid)

        def signed(request: web.Request, body: bytes) -> str | None:
            return verifier.refusal(request.headers, body, time.time())

        app.router.add_post("/v1/sendgrid/events",
                            endpoint("sendgrid", signed, sendgrid_events, counts))  # fmt: skip
    if sources.mailgun is not None:
        mailgun = MailgunVerifier(sources.mailgun)
        app.router.add_post("/v1/mailgun/events", endpoint(
            "mailgun", lambda _, body: mailgun.refusal(body, time.time()), mailgun_events,
            counts))  # fmt: skip
    if sources.forms:
        forms_of = sources.forms

        async def generic_form(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            form = forms_of.get(name)
            if form is None:  # as a wrong token: which forms exist is not told
                metrics.REQUESTS.labels("forms", "unauthorized").inc()
                return json_response({"error": "unauthorized"}, 401)
            handler = endpoint(
                "forms", lambda r, _: token_refusal(form, r.headers, r.query),
                lambda body: form_events(name, form, body, request.content_type,
                                         rfc3339_from_ms(now_ms())), counts, key=name)  # fmt: skip
            return await handler(request)

        app.router.add_post("/v1/forms/{name}", generic_form)
    if sources.zoom is not None:
        assert redis is not None, "Zoom's attendance is kept in Redis"
        zoom, attendance = ZoomVerifier(sources.zoom), Attendance(redis, settings.redis_prefix)
        app.router.add_post("/v1/zoom/events", endpoint(
            "zoom", lambda request, body: zoom.refusal(request.headers, body, time.time()),
            lambda body: zoom_body(body, zoom, attendance), counts))  # fmt: skip
    if sources.typeform is not None:
        typeform, forms = TypeformVerifier(sources.typeform), sources.typeform
        app.router.add_post("/v1/typeform/responses", endpoint(
            "typeform", lambda request, body: typeform.refusal(request.headers, body),
            lambda body: typeform_events(body, forms), counts))  # fmt: skip
    return app


def write_key_check(segment: Segment) -> Refusal:
    """Segment's HTTP API authentication: the write key as the Basic user name (no password),
    or as `writeKey` in the body; compared in constant time with each configured key."""
    keys = [k.value.encode() for k in segment.write_keys]

    def known(given: bytes) -> bool:
        return any(hmac.compare_digest(given, k) for k in keys)

    def authorized(request: web.Request, body: bytes) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user = base64.b64decode(header[6:], validate=True).split(b":", 1)[0]
            except (binascii.Error, ValueError):
                return False
            return known(user)
        try:
            given = orjson.loads(body).get("writeKey")
        except (orjson.JSONDecodeError, AttributeError):
            return False
        return isinstance(given, str) and known(given.encode())

    return lambda request, body: None if authorized(request, body) else "unauthorized"


def _published(settings: GatewaySettings, event: dict[str, object], raw: bytes) -> Message:
    topic, key = input_topic_of(event)
    return settings.topic(topic), key.encode() if key is not None else None, raw


def _dead_letter(settings: GatewaySettings, source: str, rejected: Rejected) -> Message:
    record = dead_letter(rejected.reason, rejected.detail, rejected.original[:DEAD_LETTER_BYTES],
                         rfc3339_from_ms(now_ms()), source=f"gateway:{source}")  # fmt: skip
    return settings.topic(EVENTS_DEADLETTER), None, orjson.dumps(record.value)


class RateLimits:
    """Requests allowed per source and per key within it (the `limits` package, in memory:
    each gateway process limits what it is sent)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.limiter = FixedWindowRateLimiter(MemoryStorage())
        self.per_source = parse_limit(settings.source_limit)
        self.per_key = parse_limit(settings.key_limit)

    async def retry_after(self, source: str, key: str = "") -> int | None:
        """None when the request is within both limits (a source without keys has only its
        own), else the seconds to wait."""
        checks = [(self.per_source, (source,))] + ([(self.per_key, (source, key))] if key else [])
        for limit, ids in checks:
            if not await self.limiter.hit(limit, *ids):
                stats = await self.limiter.get_window_stats(limit, *ids)
                return max(1, int(stats.reset_time - time.time()) + 1)
        return None
