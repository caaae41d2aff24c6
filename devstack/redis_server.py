"""A real Redis as a local process: Debian's ``redis-server`` (installed with apt when missing
and run as root)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import (
    ManagedProcess,
    ServiceError,
    _alive_or_raise,
    die_with_parent,
    port_is_bindable,
    port_is_open,
    require_free_port,
    wait_until,
)


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
    workdir: Path,
    port: int,
    persistent: bool = False,
    timeout: float = 30.0,
    detach: bool = False,
    extra: tuple[str, ...] = (),
) -> ManagedProcess:
    """Start redis-server on 127.0.0.1:port; AOF on when persistent, no persistence otherwise;
    `extra`: more of redis-server's options.

    `detach`: keep running after this process exits; otherwise it is stopped with us.
    """
    url = f"redis://127.0.0.1:{port}/0"
    return _start(workdir, port, persistent, extra, url, lambda: redis_answers(url), timeout,
                  detach)  # fmt: skip


def start_redis_tls(
    workdir: Path, port: int, ca_file: Path, cert_file: Path, key_file: Path,
    users: dict[str, str], timeout: float = 30.0,
) -> ManagedProcess:  # fmt: skip
    """Redis serving TLS only, on 127.0.0.1:port, as managed services do: its certificate and
    key, client certificates checked against `ca_file` when a client sends one, the ACL users
    given (name -> password, every command and key) and the default user off. Its address is
    a rediss:// URL without credentials."""
    acl = [a for name, password in users.items()
           for a in ("--user", name, "on", f">{password}", "~*", "&*", "+@all")]  # fmt: skip
    extra = ("--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert_file),
             "--tls-key-file", str(key_file), "--tls-ca-cert-file", str(ca_file),
             "--tls-auth-clients", "optional", *acl, "--user", "default", "off")  # fmt: skip
    url = f"rediss://127.0.0.1:{port}/0"
    return _start(workdir, port, False, extra, url, lambda: port_is_open(port), timeout, False)


def _start(
    workdir: Path, port: int, persistent: bool, extra: tuple[str, ...], url: str,
    answers: Callable[[], bool], timeout: float, detach: bool,
) -> ManagedProcess:  # fmt: skip
    binary = redis_server_binary()
    require_free_port(port, "Redis", "LEADTEMP_REDIS_PORT")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "redis.log"
    args = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
        "--daemonize", "no", "--save", "", "--logfile", str(log),
        "--appendonly", "yes" if persistent else "no", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=None if detach else die_with_parent,
    )  # fmt: skip
    managed = ManagedProcess("redis", proc, log, url, workdir)
    try:
        wait_until(
            lambda: _alive_or_raise(managed) and answers(),
            timeout,
            f"Redis answering PING on {url}",
        )
    except ServiceError:
        tail = managed.log_tail()
        managed.stop()
        raise ServiceError(f"Redis did not start; last lines of {log}:\n{tail}") from None
    return managed


@dataclass
class RedisCluster:
    """A local Redis Cluster: masters on consecutive ports, each slot on one of them."""

    nodes: list[ManagedProcess]
    workdir: Path
    ports: list[int]
    persistent: bool

    @property
    def address(self) -> str:
        """A URL of one of its nodes (a cluster client finds the others)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def restart(self, i: int) -> None:
        """SIGTERM one master, then start it again on its data (its slots come back)."""
        self.nodes[i].stop()
        self.nodes[i] = _cluster_node(self.workdir, self.ports[i], self.persistent)
        wait_until(lambda: _cluster_ok(self.ports), 60, "the cluster to be whole again")


def _cluster_node(workdir: Path, port: int, persistent: bool) -> ManagedProcess:
    return start_redis(workdir / str(port), port, persistent, extra=(
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", "5000"))  # fmt: skip


def _cluster_ok(ports: list[int]) -> bool:
    import redis

    for port in ports:
        try:
            client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
            try:
                if client.cluster("info").get("cluster_state") != "ok":
                    return False
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False
    return True


def cluster_ports(n: int) -> list[int]:
    """`n` ports for cluster nodes: free, and so are their cluster-bus ports (+10000). Both
    stay below the kernel's ephemeral range (from 32768), where any outgoing connection may
    take a port between this check and the node's start."""
    rnd = random.Random()
    found: list[int] = []
    while len(found) < n:
        port = rnd.randrange(12000, 22000)
        if port not in found and port_is_bindable(port) and port_is_bindable(port + 10000):
            found.append(port)
    return found


def start_redis_cluster(
    workdir: Path, ports: list[int], persistent: bool = False, timeout: float = 60.0
) -> RedisCluster:
    """Start one redis-server in cluster mode per port, give them the slots with `redis-cli
    --cluster create` (masters only), and return once every node says the cluster is ok."""
    nodes = [_cluster_node(workdir, port, persistent) for port in ports]
    cluster = RedisCluster(nodes, workdir, ports, persistent)
    try:
        cli = shutil.which("redis-cli") or "redis-cli"
        done = subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise ServiceError(f"redis-cli --cluster create failed:\n{done.stdout}{done.stderr}")
        wait_until(lambda: _cluster_ok(ports), timeout, "the Redis Cluster to be ok")
    except BaseException:
        cluster.stop()
        raise
    return cluster
