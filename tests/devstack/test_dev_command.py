"""`leadtemp dev up|status|down`: a broker and Redis that answer, then nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.kafka_broker import kafka_answers
from devstack.processes import free_port, pid_alive
from devstack.redis_server import redis_answers

pytestmark = pytest.mark.services


def leadtemp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_dev_up_prints_answering_addresses_and_dev_down_leaves_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LEADTEMP_DEV_DIR": str(tmp_path / "dev"),
        "LEADTEMP_KAFKA_PORT": str(free_port()),
        "LEADTEMP_REDIS_PORT": str(free_port()),
    }
    up = leadtemp("dev", "up", env=env)
    try:
        assert up.returncode == 0, up.stderr
        printed = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        assert kafka_answers(printed["KAFKA_BOOTSTRAP_SERVERS"])
        assert redis_answers(printed["REDIS_URL"])
        assert leadtemp("dev", "status", env=env).returncode == 0
        pids = [int((tmp_path / "dev" / f"{n}.pid").read_text()) for n in ("kafka", "redis")]
    finally:
        down = leadtemp("dev", "down", env=env)
    assert down.returncode == 0 and "kafka" in down.stdout and "redis" in down.stdout
    assert not any(pid_alive(p) for p in pids)
    assert not redis_answers(printed["REDIS_URL"])
    assert leadtemp("dev", "status", env=env).returncode == 3


def test_dev_up_names_the_taken_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "LEADTEMP_DEV_DIR": str(tmp_path / "dev"),
               "LEADTEMP_REDIS_PORT": str(port), "LEADTEMP_KAFKA_PORT": str(free_port())}  # fmt: skip
        up = leadtemp("dev", "up", env=env)
    assert up.returncode == 1
    assert f"port {port} for Redis is taken" in up.stderr


def stopped_stack_with_data(tmp_path: Path) -> dict[str, str]:
    """The environment of a dev stack that is not running and has data on disk."""
    dev = tmp_path / "dev"
    (dev / "kafka" / "data" / "leadtemp.events-by-lead-0").mkdir(parents=True)
    (dev / "redis").mkdir()
    (dev / "redis" / "appendonly.aof").write_text("*1\r\n$4\r\nPING\r\n")
    return {**os.environ, "LEADTEMP_DEV_DIR": str(dev),
            "LEADTEMP_KAFKA_PORT": str(free_port()), "LEADTEMP_REDIS_PORT": str(free_port())}  # fmt: skip


def test_dev_down_keeps_the_data_for_the_next_dev_up(tmp_path: Path) -> None:
    down = leadtemp("dev", "down", env=stopped_stack_with_data(tmp_path))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "dev" / "kafka" / "data").is_dir()
    assert (tmp_path / "dev" / "redis" / "appendonly.aof").is_file()


def test_dev_down_wipe_deletes_every_topic_and_redis_key(tmp_path: Path) -> None:
    down = leadtemp("dev", "down", "--wipe", env=stopped_stack_with_data(tmp_path))
    assert down.returncode == 0, down.stderr
    assert "wiped: kafka, redis" in down.stdout
    assert not (tmp_path / "dev" / "kafka").exists()
    assert not (tmp_path / "dev" / "redis").exists()
