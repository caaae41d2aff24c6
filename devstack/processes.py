"""Service processes started on this machine: free ports, waiting for a condition, stopping a
process group, and children that die with the process that started them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    """A local service could not be set up or started; the message says why and what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_bindable(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener could bind host:port now: stricter than `port_is_open`, which
    misses a port held by an outgoing connection's local end."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


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


def die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the process that started us dies (Linux),
    so services a test session started never outlive it, however it ends."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _alive_or_raise(p: ManagedProcess) -> bool:
    if not p.alive():
        raise ServiceError(f"{p.name} exited with {p.proc.returncode}; see {p.log}")
    return True
