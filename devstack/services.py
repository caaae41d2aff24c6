"""A real Kafka broker and a real Redis as local processes, for machines without Docker.

Kafka's jars come from Maven Central through ``kafka-pom.xml`` (package data, so this works
from an installed wheel as from a checkout) and are
cached under ``$LEADTEMP_HOME`` (default ``~/.cache/leadtemp``), so the second
start needs no network. Redis is Debian's ``redis-server``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

POM = Path(__file__).resolve().parent / "kafka-pom.xml"
DEFAULT_KAFKA_VERSION = "3.9.2"

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
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
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


class ServiceError(RuntimeError):
    """A local service could not be set up or started; the message says why and what to do."""


def leadtemp_home() -> Path:
    """Where jars are cached and the dev stack keeps its data and logs."""
    return Path(os.environ.get("LEADTEMP_HOME", Path.home() / ".cache" / "leadtemp"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def require_free_port(port: int, what: str, env_var: str) -> None:
    """Stop with a clear message when the port is already taken."""
    if port_is_open(port):
        raise ServiceError(f"port {port} for {what} is taken; stop what uses it or set {env_var}")


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2
) -> None:
    """Poll ``condition`` until it is true; ServiceError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise ServiceError(f"{what} did not happen within {timeout:.0f}s")


# --------------------------------------------------------------------------- Kafka


def kafka_jars(version: str = DEFAULT_KAFKA_VERSION) -> Path:
    """The folder holding the broker's jars, fetched with Maven on first use."""
    libs = leadtemp_home() / "kafka" / version / "libs"
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


@dataclass
class ManagedProcess:
    """A service process we started, with where its logs go."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    address: str
    workdir: Path
    _log_file: object = field(default=None, repr=False)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        stop_pid(self.proc.pid, timeout, popen=self.proc)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def stop_pid(pid: int, timeout: float = 20.0, popen: subprocess.Popen[bytes] | None = None) -> None:
    """Stop a process group we started: SIGTERM, wait, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if popen is not None:
                if popen.poll() is not None:
                    return
            elif not pid_alive(pid):
                return
            time.sleep(0.1)


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


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
    version: str | None = None,
    partitions: int = 4,
    detach: bool = False,
    timeout: float = 120.0,
) -> ManagedProcess:
    """Format storage and start a single-node KRaft broker; return once it answers metadata.

    `detach`: keep running after this process exits (`leadtemp dev up`); otherwise the
    broker is stopped with us.
    """
    version = version or os.environ.get("LEADTEMP_KAFKA_VERSION", DEFAULT_KAFKA_VERSION)
    controller_port = controller_port or free_port()
    require_free_port(port, "Kafka", "LEADTEMP_KAFKA_PORT")
    libs = kafka_jars(version)
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    log = workdir / "kafka.log"
    props = workdir / "server.properties"
    props.write_text(
        SERVER_PROPERTIES.format(
            port=port, controller_port=controller_port, data=data, partitions=partitions
        )
    )
    log4j = workdir / "log4j.properties"
    log4j.write_text(LOG4J_PROPERTIES.format(log=workdir / "server.log"))
    java = [
        "java", *KAFKA_JVM_FLAGS, f"-Dlog4j.configuration=file:{log4j}",
        f"-Dkafka.logs.dir={workdir}", "-cp", f"{libs}/*",
    ]  # fmt: skip
    if not (data / "meta.properties").exists():
        fmt = subprocess.run(
            [*java, "kafka.tools.StorageTool", "format", "-t", uuid_for_kafka(),
             "-c", str(props), "--ignore-formatted"],
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


def die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the process that started us dies (Linux),
    so services a test session started never outlive it, however it ends."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def uuid_for_kafka() -> str:
    """A cluster id in Kafka's format (URL-safe base64 of 16 random bytes, no padding).

    Never one that starts with "-": the storage tool would read it as an option (1 in 64
    ids; Kafka's own Uuid.randomUuid() draws again too)."""
    import base64

    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _alive_or_raise(p: ManagedProcess) -> bool:
    if not p.alive():
        raise ServiceError(f"{p.name} exited with {p.proc.returncode}; see {p.log}")
    return True


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> str:
    """Path of redis-server, installing Debian's package when it is missing and we are root."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServiceError(
            "redis-server is not installed; install it (Debian: sudo apt-get install redis-server)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise ServiceError(
                f"'{' '.join(cmd)}' failed; install redis-server by hand:\n{done.stderr[-2000:]}"
            )
    found = shutil.which("redis-server")
    if not found:
        raise ServiceError("apt-get installed redis-server but it is not on PATH")
    return found


def redis_answers(url: str) -> bool:
    """True when Redis answers PING."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def start_redis(
    workdir: Path, port: int, persistent: bool = False, timeout: float = 30.0, detach: bool = False
) -> ManagedProcess:
    """Start redis-server on 127.0.0.1:port; AOF on when persistent, no persistence otherwise.

    `detach`: keep running after this process exits; otherwise it is stopped with us.
    """
    binary = redis_server_binary()
    require_free_port(port, "Redis", "LEADTEMP_REDIS_PORT")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "redis.log"
    args = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
        "--daemonize", "no", "--save", "", "--logfile", str(log),
        "--appendonly", "yes" if persistent else "no",
    ]  # fmt: skip
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=None if detach else die_with_parent,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    managed = ManagedProcess("redis", proc, log, url, workdir)
    try:
        wait_until(
            lambda: _alive_or_raise(managed) and redis_answers(url),
            timeout,
            f"Redis answering PING on {url}",
        )
    except ServiceError:
        tail = managed.log_tail()
        managed.stop()
        raise ServiceError(f"Redis did not start; last lines of {log}:\n{tail}") from None
    return managed


# --------------------------------------------------------------------------- dev stack


@dataclass(frozen=True)
class DevStack:
    """Where `leadtemp dev` keeps the long-running broker and Redis, and their ports."""

    root: Path
    kafka_port: int
    redis_port: int

    @classmethod
    def from_env(cls) -> DevStack:
        return cls(
            root=Path(os.environ.get("LEADTEMP_DEV_DIR", leadtemp_home() / "dev")),
            kafka_port=int(os.environ.get("LEADTEMP_KAFKA_PORT", "9092")),
            redis_port=int(os.environ.get("LEADTEMP_REDIS_PORT", "6379")),
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def pidfile(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def running_pid(self, name: str) -> int | None:
        """The pid of a service this stack started that still runs, else None."""
        try:
            pid = int(self.pidfile(name).read_text())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def up(self) -> dict[str, str]:
        """Start whatever is not running yet; return the addresses."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.running_pid("redis") is None:
            r = start_redis(self.root / "redis", self.redis_port, persistent=True, detach=True)
            self.pidfile("redis").write_text(str(r.proc.pid))
        if self.running_pid("kafka") is None:
            k = start_kafka(self.root / "kafka", self.kafka_port, detach=True)
            self.pidfile("kafka").write_text(str(k.proc.pid))
        return self.addresses()

    def down(self) -> list[str]:
        """Stop what this stack started; return the names stopped."""
        stopped = []
        for name in ("kafka", "redis"):
            pid = self.running_pid(name)
            if pid is not None:
                stop_pid(pid, timeout=30)
                stopped.append(name)
            self.pidfile(name).unlink(missing_ok=True)
        return stopped

    def wipe(self) -> list[str]:
        """Delete the stopped services' data (topics, offsets, Redis keys) and logs; return
        the names wiped. Topics left by test runs and benchmarks otherwise pile up: this
        project's own dev broker had gathered 7,617 partition directories (2.4 GB)."""
        running = [name for name in ("kafka", "redis") if self.running_pid(name) is not None]
        if running:
            raise ServiceError(f"not wiping while {', '.join(running)} runs: stop it first")
        wiped = []
        for name in ("kafka", "redis"):
            if (self.root / name).exists():
                shutil.rmtree(self.root / name)
                wiped.append(name)
        return wiped

    def status(self) -> dict[str, dict[str, object]]:
        """For each service: its pid (or None) and whether it answers on its address."""
        return {
            "kafka": {
                "pid": self.running_pid("kafka"),
                "address": self.bootstrap,
                "answers": kafka_answers(self.bootstrap)
                if port_is_open(self.kafka_port)
                else False,
                "log": str(self.root / "kafka" / "kafka.log"),
            },
            "redis": {
                "pid": self.running_pid("redis"),
                "address": self.redis_url,
                "answers": redis_answers(self.redis_url),
                "log": str(self.root / "redis" / "redis.log"),
            },
        }

    def addresses(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "REDIS_URL": self.redis_url,
            "logs": str(self.root),
        }
