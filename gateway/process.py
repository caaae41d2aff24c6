"""`leadtemp gateway`, the process: Kafka's credentials checked, its producer started (waiting
out a Kafka not there yet, answering 503 meanwhile), the endpoints served until SIGINT or
SIGTERM, and what was accepted flushed before it exits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

from gateway.app import gateway_app
from gateway.settings import GatewaySettings
from gateway.sink import KafkaSink
from gateway.sources import Sources
from streams.plumbing.clients import check_redis, redis_client
from streams.plumbing.http import serve
from streams.plumbing.kafka_access import check_kafka, kafka_access
from streams.plumbing.logs import flush_repeats_forever, quiet_repeats

log = logging.getLogger("leadtemp.gateway")


def run_gateway(settings: GatewaySettings, sources: Sources, http_socket: socket.socket) -> None:
    """The gateway until SIGINT or SIGTERM (logging is set up by then); SettingsError when
    Kafka refuses the credentials or its certificate is not trusted."""
    repeats = quiet_repeats()
    kafka = kafka_access(settings)
    asyncio.run(check_kafka(kafka))
    if sources.zoom is not None:  # Zoom's attendance is kept in Redis
        asyncio.run(check_redis(settings))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sink = KafkaSink(kafka, settings.kafka_timeout_s)
        redis = redis_client(settings) if sources.zoom is not None else None
        starting = asyncio.create_task(sink.start())
        flushing = asyncio.create_task(flush_repeats_forever(repeats))
        runner = await serve(gateway_app(settings, sink, sources, redis), http_socket)
        log.info("gateway listening on %s:%s (sources: events%s)", settings.http_host,
                 settings.port, "".join(f", {n}" for n in sources.names))  # fmt: skip
        try:
            await stop.wait()
        finally:
            await runner.cleanup()  # in-flight requests end first: their events are sent
            for task in (starting, flushing):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await sink.stop()
            if redis is not None:
                await redis.aclose()

    asyncio.run(main())
