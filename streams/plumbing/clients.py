"""The one place Redis clients are built, for every process and tool, and the start-up checks
that tell a wrong credential or an untrusted certificate from an outage (Kafka's:
streams/plumbing/kafka_access.py)."""

from __future__ import annotations

import ssl
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import AuthenticationError, ConnectionError, ResponseError

from streams.plumbing.kafka_access import check_kafka, kafka_access
from streams.plumbing.settings import Connections, SettingsError


def redis_client(settings: Connections, timeout_s: float = 5.0) -> Any:
    """An asyncio Redis client (a cluster client when `redis_cluster` is set); a call that gets
    no answer in `timeout_s` fails (and is retried by the caller as an outage:
    streams/plumbing/backoff.py)."""
    options: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": 5}
    if settings.redis_username:
        options["username"] = settings.redis_username
    if settings.redis_password:
        options["password"] = settings.redis_password.get_secret_value()
    if settings.redis_url.startswith("rediss://"):
        options.update(ssl_cert_reqs="required", ssl_check_hostname=True,
                       ssl_ca_certs=settings.redis_ca_file, ssl_certfile=settings.redis_cert_file,
                       ssl_keyfile=settings.redis_key_file)  # fmt: skip
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return Redis.from_url(settings.redis_url, **options)


async def check_redis(settings: Connections) -> None:
    """At start-up: SettingsError, naming the setting, when Redis refuses the credentials or
    its certificate is not trusted; retrying would not help, so the process stops at once. A
    Redis that does not answer is an outage, left to the callers' backoff."""
    client = redis_client(settings)
    try:
        await client.ping()
    except (AuthenticationError, ResponseError) as e:
        if isinstance(e, AuthenticationError) or "NOPERM" in str(e) or "WRONGPASS" in str(e):
            raise SettingsError(
                f"setting redis_url (REDIS_URL): Redis refused the credentials ({e})"
            ) from None
        raise
    except ConnectionError as e:
        if isinstance(e.__cause__ or e.__context__, ssl.SSLError) or "certificate" in str(e):
            raise SettingsError(
                "setting redis_ca_file (LEADTEMP_REDIS_CA_FILE): Redis's TLS certificate is not "
                f"trusted ({e})"
            ) from None
    finally:
        await client.aclose()


async def check_credentials(settings: Connections) -> None:
    """At start-up, Kafka's and Redis's: SettingsError, naming the setting, for a refused
    credential or an untrusted certificate."""
    await check_kafka(kafka_access(settings))
    await check_redis(settings)
