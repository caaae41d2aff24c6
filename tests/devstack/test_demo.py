"""The README's main command: `leadtemp demo` from nothing to hot-lead alerts, then Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from devstack.processes import die_with_parent, free_port
from tests.live import read_topics, run, wait_for

pytestmark = pytest.mark.timeout(300)


def processes_with(marker: str) -> list[int]:
    """Pids whose environment holds `marker` (everything the demo started inherits it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                stat = (entry / "stat").read_text()
                if stat.split(") ", 1)[1][0] != "Z":
                    pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_the_demo_shows_a_hot_lead_alert_within_90_s_and_stops_cleanly(tmp_path: Path) -> None:
    kafka_port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}  # fmt: skip
    env.update(LEADTEMP_DEV_DIR=str(tmp_path / "dev"), LEADTEMP_KAFKA_PORT=str(kafka_port),
               LEADTEMP_REDIS_PORT=str(free_port()), PYTHONUNBUFFERED="1")  # fmt: skip
    out = tmp_path / "demo.out"
    started = time.monotonic()
    with open(out, "wb") as f:
        demo = subprocess.Popen([sys.executable, "-m", "cli", "demo", "--rate", "30"],
                                env=env, stdout=f, stderr=subprocess.STDOUT,
                                preexec_fn=die_with_parent)  # fmt: skip
    try:
        wait_for(lambda: "hot lead:" in out.read_text(errors="replace"), 90,
                 "a hot-lead alert on the demo's console")  # fmt: skip
        elapsed = time.monotonic() - started
        alerts = run(read_topics(f"127.0.0.1:{kafka_port}", ["alerts.hot-lead"], idle_ms=500))
        assert alerts and orjson.loads(alerts[0].value)["alert_id"]
        assert processes_with(str(tmp_path / "dev"))  # its children run…
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=90) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
    assert elapsed < 90
    text = out.read_text(errors="replace")
    assert "stopped: worker, notifier, gateway, simulator, redis, kafka" in text
    assert "/metrics" in text  # the banner names the metrics URLs
    wait_for(lambda: not processes_with(str(tmp_path / "dev")), 10, "nothing left running")
