"""A real Kafka broker (KRaft, one node) as a local process: its jars fetched from Maven Central
once through ``kafka-pom.xml`` (package data, so this works from an installed wheel as from a
checkout) and cached under the dev home."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import (
    ManagedProcess,
    ServiceError,
    _alive_or_raise,
    die_with_parent,
    free_port,
    require_free_port,
    wait_until,
)
from devstack.settings import DevSettings, dev_settings

POM = Path(__file__).resolve().parent / "kafka-pom.xml"


# The JVM flags kafka-run-class.sh / kafka-server-start.sh use, with a small heap.
KAFKA_JVM_FLAGS = [
    "-Xmx512M",
    "-Xms512M",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
]


LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}{listeners}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}{listeners}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions={partitions}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
# Room for a dead letter that carries a too-large (> 1 MiB) input message, base64-encoded.
message.max.bytes=4194304
replica.fetch.max.bytes=4194304
"""

SECURE_PROPERTIES = """\
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=\
org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={truststore}
listener.name.ssl.ssl.client.auth=required
"""


@dataclass(frozen=True)
class SecureListeners:
    """Listeners beside the plaintext one, as managed Kafka services have them: SASL_SSL with
    SCRAM-SHA-512 users, and SSL that requires a client certificate signed by `truststore`.
    `keystore` is one PEM file: the broker's unencrypted PKCS#8 key and its certificate chain
    (which should name 127.0.0.1, the address advertised)."""

    sasl_ssl_port: int
    ssl_port: int
    keystore: Path
    truststore: Path
    users: dict[str, str] = field(default_factory=dict)  # SCRAM-SHA-512 name -> password

    @property
    def listeners(self) -> str:
        return f",SASL_SSL://127.0.0.1:{self.sasl_ssl_port},SSL://127.0.0.1:{self.ssl_port}"

    @property
    def properties(self) -> str:
        return SECURE_PROPERTIES.format(keystore=self.keystore, truststore=self.truststore)

    @property
    def scram_options(self) -> list[str]:
        return [
            arg for name, password in self.users.items()
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")
        ]  # fmt: skip


def kafka_jars(version: str, home: Path) -> Path:
    """The folder holding the broker's jars, fetched with Maven on first use (under `home`)."""
    libs = home / "kafka" / version / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise ServiceError(
                f"'{tool}' is not on PATH; install a JDK 17+ and Maven "
                "(Debian: apt-get install default-jdk-headless maven)"
            )
    libs.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mvn", "-q", "-B", "-f", str(POM), f"-Dkafka.version={version}",
        "dependency:copy-dependencies", f"-DoutputDirectory={libs}", "-DincludeScope=runtime",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise ServiceError(
            f"fetching Kafka {version} jars from Maven Central failed (is the registry "
            "reachable?):\n" + "\n".join(tail)
        )
    marker.touch()
    return libs


def kafka_answers(bootstrap: str) -> bool:
    """True when the broker answers a metadata request."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaConfigurationError, KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    except KafkaConfigurationError:
        raise  # our bug, not a broker that is still starting
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def start_kafka(
    workdir: Path,
    port: int,
    controller_port: int | None = None,
    dev: DevSettings | None = None,
    partitions: int = 4,
    detach: bool = False,
    timeout: float = 120.0,
    secure: SecureListeners | None = None,
) -> ManagedProcess:
    """Format storage and start a single-node KRaft broker; return once it answers metadata.

    `detach`: keep running after this process exits (`leadtemp dev up`); otherwise the
    broker is stopped with us. `secure`: listeners with TLS and SASL besides (tests).
    """
    dev = dev or dev_settings()
    controller_port = controller_port or free_port()
    require_free_port(port, "Kafka", "LEADTEMP_KAFKA_PORT")
    libs = kafka_jars(dev.kafka_version, dev.home)
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    log = workdir / "kafka.log"
    props = workdir / "server.properties"
    props.write_text(
        SERVER_PROPERTIES.format(
            port=port, controller_port=controller_port, data=data, partitions=partitions,
            listeners=secure.listeners if secure else "",
        ) + (secure.properties if secure else "")
    )  # fmt: skip
    log4j = workdir / "log4j.properties"
    log4j.write_text(LOG4J_PROPERTIES.format(log=workdir / "server.log"))
    java = [
        "java", *KAFKA_JVM_FLAGS, f"-Dlog4j.configuration=file:{log4j}",
        f"-Dkafka.logs.dir={workdir}", "-cp", f"{libs}/*",
    ]  # fmt: skip
    if not (data / "meta.properties").exists():
        fmt = subprocess.run(
            [*java, "kafka.tools.StorageTool", "format", "-t", uuid_for_kafka(),
             "-c", str(props), "--ignore-formatted", *(secure.scram_options if secure else [])],
            capture_output=True, text=True,
        )  # fmt: skip
        if fmt.returncode != 0:
            raise ServiceError(f"kafka storage format failed:\n{fmt.stdout}{fmt.stderr}")
    out = open(log, "ab")  # noqa: SIM115 - the child keeps writing to it
    proc = subprocess.Popen(
        [*java, "kafka.Kafka", str(props)],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=None if detach else die_with_parent,
    )  # fmt: skip
    bootstrap = f"127.0.0.1:{port}"
    managed = ManagedProcess("kafka", proc, log, bootstrap, workdir, out)
    try:
        wait_until(
            lambda: _alive_or_raise(managed) and kafka_answers(bootstrap),
            timeout,
            f"Kafka answering metadata on {bootstrap}",
            interval=0.5,
        )
    except ServiceError:
        tail = managed.log_tail()
        managed.stop()
        raise ServiceError(f"Kafka did not start; last lines of {log}:\n{tail}") from None
    return managed


def uuid_for_kafka() -> str:
    """A cluster id in Kafka's format (URL-safe base64 of 16 random bytes, no padding).

    Never one that starts with "-": the storage tool would read it as an option (1 in 64
    ids; Kafka's own Uuid.randomUuid() draws again too)."""
    import base64

    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
