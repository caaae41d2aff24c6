"""How every Kafka client of the project connects (Faust in the worker, aiokafka in the worker's
ingest hop, the notifier and the tools, kafka-python for the admin calls): one `KafkaAccess`,
built once from the settings, gives each stack its options, so they all connect the same way.
And the start-up check that tells a refused credential or an untrusted certificate from an
outage, within seconds: aiokafka says only "Unable to bootstrap" (the reason is in its
`aiokafka.conn` log) and kafka-python waits half a minute before a timeout."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from streams.plumbing.settings import Connections, SettingsError

CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class KafkaAccess:
    """Where the brokers are and how to authenticate to them; the password is not shown in a
    repr (nor is anything else secret kept)."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @property
    def servers(self) -> list[str]:
        return [s.strip().removeprefix("kafka://") for s in self.bootstrap.split(",")]

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A context that verifies the brokers' certificates and host names (the CA file's, or
        the system's), with the client certificate when one is set; None without TLS."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file and self.key_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def auth_options(self) -> dict[str, Any]:
        """Security options under the names aiokafka and kafka-python share."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options.update(sasl_mechanism=self.sasl_mechanism,
                           sasl_plain_username=self.username,
                           sasl_plain_password=self.password)  # fmt: skip
        return options

    def client_options(self) -> dict[str, Any]:
        """`bootstrap_servers` and the security options, for an aiokafka or kafka-python client."""
        return {"bootstrap_servers": ",".join(self.servers), **self.auth_options()}


def kafka_access(settings: Connections) -> KafkaAccess:
    password = settings.kafka_password
    return KafkaAccess(
        bootstrap=settings.kafka_bootstrap_servers,
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        username=settings.kafka_username,
        password=password.get_secret_value() if password else None,
        ca_file=settings.kafka_ca_file,
        cert_file=settings.kafka_cert_file,
        key_file=settings.kafka_key_file,
    )


def plaintext(bootstrap: str) -> KafkaAccess:
    """A broker without security: the local dev broker, the benchmarks'."""
    return KafkaAccess(bootstrap)


class _Reasons(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def refusal(messages: list[str]) -> tuple[str, str] | None:
    """(setting, reason) when the client's log shows the brokers refused us for a reason
    retrying cannot fix; None when it looks like an outage."""
    for message in messages:
        lowered = message.lower()
        if "certificate verify failed" in lowered or "certificate_verify_failed" in lowered:
            return "kafka_ca_file", "the brokers' TLS certificate is not trusted"
        if "hostname mismatch" in lowered or "doesn't match" in lowered:
            return "kafka_ca_file", "the brokers' TLS certificate does not name the host"
        if "authentication" in lowered and ("sasl" in lowered or "failed" in lowered):
            return "kafka_password", "the brokers refused the user name or password"
        if "unsupportedsaslmechanism" in lowered:
            return "kafka_sasl_mechanism", "the brokers do not offer this SASL mechanism"
        if "illegalsaslstate" in lowered or "wrong version number" in lowered:
            return "kafka_security_protocol", "the brokers do not speak this protocol here"
    return None


VARIABLES = {
    "kafka_ca_file": "LEADTEMP_KAFKA_CA_FILE",
    "kafka_password": "LEADTEMP_KAFKA_PASSWORD",
    "kafka_sasl_mechanism": "LEADTEMP_KAFKA_SASL_MECHANISM",
    "kafka_security_protocol": "LEADTEMP_KAFKA_SECURITY_PROTOCOL",
}


async def check_kafka(access: KafkaAccess) -> None:
    """At start-up: SettingsError, naming the setting, when the brokers refuse the credentials,
    their certificate is not trusted, or they speak another protocol; retrying would not help,
    so the process stops at once. Brokers that do not answer are an outage, left to the
    callers' backoff."""
    from aiokafka import AIOKafkaClient
    from aiokafka.errors import KafkaError

    reasons = _Reasons()
    watched = logging.getLogger("aiokafka")  # aiokafka.conn's records reach it too
    watched.addHandler(reasons)
    client = AIOKafkaClient(**access.client_options(), request_timeout_ms=5000)
    try:
        await asyncio.wait_for(client.bootstrap(), CHECK_TIMEOUT_S)
    except (TimeoutError, KafkaError, OSError) as e:
        found = refusal([*reasons.messages, str(e)])
        if found:
            setting, reason = found
            variable = VARIABLES[setting]
            raise SettingsError(
                f"setting {setting} ({variable}): {reason} ({access.security_protocol} to "
                f"{access.bootstrap})"
            ) from None
    finally:
        watched.removeHandler(reasons)
        await client.close()
