"""Shared fixtures: real Kafka and Redis for the tests that need them.

Where the services come from, in this order:
1. ``KAFKA_BOOTSTRAP_SERVERS`` / ``REDIS_URL`` when set (existing infrastructure);
2. testcontainers, when a Docker engine answers;
3. local processes (devstack/), started once per session and stopped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from streams.plumbing.kafka_access import KafkaAccess
    from tests.alerts.providers import Providers

# The contract's examples live in ../shared/examples; tests/examples holds a copy
# so that a clone without ../shared still runs (a test checks the copy is current).
SHARED_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "examples"
EXAMPLES = Path(__file__).resolve().parent / "examples"


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    redis_url: str
    origin: str  # "environment", "testcontainers" or "local processes"
    redis_cluster: bool = False  # redis_url names a node of a Redis Cluster

    @property
    def kafka(self) -> KafkaAccess:
        from streams.plumbing.kafka_access import plaintext

        return plaintext(self.kafka_bootstrap)


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _from_testcontainers() -> Iterator[Services]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.redis import RedisContainer

    with (
        KafkaContainer("apache/kafka:3.9.1").with_kraft() as kafka,
        RedisContainer("redis:7-alpine") as redis_c,
    ):
        host = redis_c.get_container_host_ip()
        port = redis_c.get_exposed_port(6379)
        yield Services(kafka.get_bootstrap_server(), f"redis://{host}:{port}/0", "testcontainers")


def _from_local_processes(workdir: Path) -> Iterator[Services]:
    from devstack.kafka_broker import start_kafka
    from devstack.processes import free_port
    from devstack.redis_server import start_redis

    redis_p = start_redis(workdir / "redis", free_port())
    try:
        kafka_p = start_kafka(workdir / "kafka", free_port())
        try:
            yield Services(kafka_p.address, redis_p.address, "local processes")
        finally:
            kafka_p.stop()
    finally:
        redis_p.stop()


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A Kafka bootstrap address and a Redis URL that answer, for the whole session."""
    env_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    env_redis = os.environ.get("REDIS_URL")
    if env_kafka and env_redis:
        yield Services(env_kafka, env_redis, "environment")
    elif docker_engine_answers():
        yield from _from_testcontainers()
    else:
        yield from _from_local_processes(tmp_path_factory.mktemp("services"))


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis Cluster of 3 masters: REDIS_CLUSTER_URL's, or local processes of Debian's
    redis-server (cluster mode, `redis-cli --cluster create`) for the session."""
    given = os.environ.get("REDIS_CLUSTER_URL")
    if given:
        yield given
        return
    from devstack.redis_server import cluster_ports, start_redis_cluster

    cluster = start_redis_cluster(tmp_path_factory.mktemp("redis-cluster"), cluster_ports(3))
    try:
        yield cluster.address
    finally:
        cluster.stop()


@dataclass(frozen=True)
class TlsRedis:
    """A Redis serving TLS only, with an ACL user, and the files a client needs."""

    url: str  # rediss://, no credentials
    user: str
    password: str
    ca_file: Path  # the CA that signed its certificate (made by the test: trustme)
    other_ca_file: Path  # a CA that did not


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    """Redis as a managed service runs it: TLS only (a certificate for 127.0.0.1 and
    localhost, from a CA made here), an ACL user, the default user off."""
    import trustme

    from devstack.processes import free_port
    from devstack.redis_server import start_redis_tls

    work = tmp_path_factory.mktemp("redis-tls")
    ca, other = trustme.CA(), trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca.pem": ca.cert_pem, "other-ca.pem": other.cert_pem,
             "cert.pem": cert.cert_chain_pems[0], "key.pem": cert.private_key_pem}  # fmt: skip
    for name, blob in files.items():
        blob.write_to_path(str(work / name))
    user, password = "leadtemp", "s3cret-" + uuid.uuid4().hex
    server = start_redis_tls(work / "server", free_port(), work / "ca.pem", work / "cert.pem",
                             work / "key.pem", {user: password})  # fmt: skip
    try:
        yield TlsRedis(server.address, user, password, work / "ca.pem", work / "other-ca.pem")
    finally:
        server.stop()


@dataclass(frozen=True)
class SecureKafka:
    """A broker with listeners as managed Kafka services have them, and what a client needs."""

    plaintext: str  # for the tests' own set-up
    sasl_ssl: str  # SASL_SSL, SCRAM-SHA-512
    mtls: str  # SSL, client certificate required
    user: str
    password: str
    ca_file: Path  # the CA that signed the broker's certificate (made here: trustme)
    other_ca_file: Path  # a CA that did not
    cert_file: Path  # a client certificate that CA signed, and its key
    key_file: Path

    def environment(self) -> dict[str, str]:
        """The settings of a process on the SASL_SSL listener."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.sasl_ssl,
                "LEADTEMP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "LEADTEMP_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "LEADTEMP_KAFKA_USERNAME": self.user, "LEADTEMP_KAFKA_PASSWORD": self.password,
                "LEADTEMP_KAFKA_CA_FILE": str(self.ca_file)}  # fmt: skip


def pkcs8_pem(key_pem: bytes) -> bytes:
    """Kafka's PEM key store takes PKCS#8 keys only; trustme writes EC keys in SEC1 form."""
    from cryptography.hazmat.primitives import serialization as s

    key = s.load_pem_private_key(key_pem, None)
    return key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """A local broker (its own, whatever `services` uses) with a SASL_SSL listener (a SCRAM
    user) and an SSL listener that requires a client certificate, besides plaintext."""
    import trustme

    from devstack.kafka_broker import SecureListeners, start_kafka
    from devstack.processes import free_port

    work = tmp_path_factory.mktemp("kafka-secure")
    ca, other = trustme.CA(), trustme.CA()
    broker, client = ca.issue_cert("127.0.0.1", "localhost"), ca.issue_cert("leadtemp-client")
    (work / "keystore.pem").write_bytes(
        pkcs8_pem(broker.private_key_pem.bytes())
        + b"".join(c.bytes() for c in broker.cert_chain_pems)
    )
    files = {"ca.pem": ca.cert_pem, "other-ca.pem": other.cert_pem,
             "client.pem": client.cert_chain_pems[0], "client-key.pem": client.private_key_pem}
    for name, blob in files.items():  # fmt: skip
        blob.write_to_path(str(work / name))
    user, password = "leadtemp", "s3cret-" + uuid.uuid4().hex
    secure = SecureListeners(free_port(), free_port(), work / "keystore.pem", work / "ca.pem",
                             {user: password})  # fmt: skip
    server = start_kafka(work / "broker", free_port(), secure=secure)
    try:
        yield SecureKafka(
            server.address, f"127.0.0.1:{secure.sasl_ssl_port}", f"127.0.0.1:{secure.ssl_port}",
            user, password, work / "ca.pem", work / "other-ca.pem", work / "client.pem",
            work / "client-key.pem",
        )  # fmt: skip
    finally:
        server.stop()


@pytest.fixture(scope="session")
def providers() -> Iterator[Providers]:
    """Slack, Twilio and a webhook receiver imitated over real HTTP (tests/alerts/providers.py),
    for the session: the notifier's tests and the round trips that end in an alert."""
    from tests.alerts.providers import Providers

    p = Providers().start()
    yield p
    p.stop()


@pytest.fixture(params=["redis", "redis-cluster"])
def any_redis(request: pytest.FixtureRequest, services: Services) -> Services:
    """The session's services, with a single Redis or with the Redis Cluster: the tests of
    the worker's guarantees run on both."""
    if request.param == "redis":
        return services
    url = request.getfixturevalue("redis_cluster_url")
    return Services(services.kafka_bootstrap, url, services.origin, redis_cluster=True)


@pytest.fixture
def test_id() -> str:
    """A short unique name for this test's topics and keys, so tests never share data."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def topic_prefix(test_id: str) -> str:
    return f"{test_id}."


@pytest.fixture
def redis_prefix(test_id: str) -> str:
    return f"{test_id}:"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
