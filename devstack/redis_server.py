"""A real Redis as a local process: Debian's ``redis-server`` (installed with apt when missing
and run as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devstack.processes import (
    ManagedProcess,
    ServiceError,
    _alive_or_raise,
    die_with_parent,
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
