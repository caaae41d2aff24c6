"""Publishing event lines to the input topics, by channel and keyed by lead, at a steady rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

import orjson
from aiokafka import AIOKafkaProducer

from scoring import EVENTS_FORM, input_topic_of
from streams.plumbing.kafka_access import KafkaAccess, kafka_access
from streams.plumbing.producers import PRODUCER_OPTIONS
from streams.plumbing.settings import Connections


def route_of(line: bytes) -> tuple[str, bytes | None]:
    """The contract's topic of an event line and its key (lead id, else visitor id). A line
    that is not an event goes to `events.form`, where the worker dead-letters it."""
    try:
        topic, key = input_topic_of(orjson.loads(line))
    except orjson.JSONDecodeError:
        return EVENTS_FORM, None
    return topic, key.encode() if key is not None else None


@dataclass
class Published:
    events: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def publish(
    kafka: KafkaAccess,
    lines: Iterable[bytes],
    topic_prefix: str = "",
    rate: float | None = None,
    until: Callable[[], bool] = lambda: False,
    progress: Callable[[Published], None] | None = None,
) -> Published:
    """Send every line (or until `until()`), at most `rate` per second when given; the
    producer waits for the broker's acknowledgement of everything before returning."""
    producer = AIOKafkaProducer(**kafka.client_options(), linger_ms=5,
                                max_request_size=4 * 1024 * 1024, **PRODUCER_OPTIONS)  # fmt: skip
    await producer.start()
    stats = Published()
    started = time.monotonic()
    try:
        for line in lines:
            if until():
                break
            topic, key = route_of(line)
            await producer.send(topic_prefix + topic, line, key=key)
            stats.events += 1
            if rate:
                # Pace by the schedule, not by sleeps per event: small lags are caught up.
                ahead = stats.events / rate - (time.monotonic() - started)
                if ahead > 0.005:
                    await asyncio.sleep(ahead)
            if progress is not None and stats.events % 1000 == 0:
                stats.seconds = time.monotonic() - started
                progress(stats)
        await producer.flush()
    finally:
        await producer.stop()
        stats.seconds = time.monotonic() - started
    return stats


def publish_file(
    settings: Connections, src: IO[bytes], rate: float | None = None
) -> Published:
    """`leadtemp produce`: every non-blank line of `src` published (and acknowledged)."""
    lines = (line.rstrip(b"\r\n") for line in src if line.strip())
    return asyncio.run(publish(kafka_access(settings), lines, settings.topic_prefix,
                               rate))  # fmt: skip


GATEWAY_PATIENCE_S = 60.0  # a gateway that refuses connections this long is not coming


async def post_accepted(session: Any, url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST until the gateway accepts (200): a 429 or 503 is retried after its Retry-After,
    a gateway not answering yet for up to a minute; RuntimeError for anything else."""
    import aiohttp

    refused_since: float | None = None
    while True:
        try:
            async with session.post(url, data=body, headers=headers) as r:
                if r.status == 200:
                    return
                if r.status not in (429, 503):
                    raise RuntimeError(f"{url} answered {r.status}: {await r.text()}")
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
        except aiohttp.ClientConnectionError:  # not up yet, or restarting
            refused_since = refused_since or time.monotonic()
            if time.monotonic() - refused_since > GATEWAY_PATIENCE_S:
                raise RuntimeError(f"{url} does not answer") from None
            await asyncio.sleep(0.5)


async def post_to_gateway(
    url: str,
    lines: Iterable[bytes],
    token: str | None = None,
    rate: float | None = None,
    until: Callable[[], bool] = lambda: False,
    window_s: float = 0.1,
    requests_of: Callable[[list[bytes]], list[tuple[str, bytes, dict[str, str]]]] | None = None,
) -> Published:
    """Send every line to a gateway (`url`: its base), as the requests of what is due each
    `window_s`, at most `rate` lines per second: by default one NDJSON request to /v1/events;
    `requests_of` makes others of a window's lines ((path, body, headers), e.g. the providers'
    payloads: toolkit/providers.py)."""
    import aiohttp

    headers = {"Content-Type": "application/x-ndjson"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def contract(window: list[bytes]) -> list[tuple[str, bytes, dict[str, str]]]:
        return [("/v1/events", b"\n".join(window), headers)]

    make = requests_of or contract
    stats, started = Published(), time.monotonic()
    pending: list[bytes] = []

    async def send(session: aiohttp.ClientSession) -> None:
        for path, body, request_headers in make(pending):
            await post_accepted(session, url.rstrip("/") + path, body, request_headers)
        stats.events += len(pending)
        pending.clear()

    async with aiohttp.ClientSession() as session:
        last = time.monotonic()
        for line in lines:
            if until():
                break
            pending.append(line)
            if rate:
                ahead = (stats.events + len(pending)) / rate - (time.monotonic() - started)
                if ahead > 0.005:
                    await asyncio.sleep(ahead)
            if time.monotonic() - last >= window_s:
                await send(session)
                last = time.monotonic()
        if pending:
            await send(session)
    stats.seconds = time.monotonic() - started
    return stats
