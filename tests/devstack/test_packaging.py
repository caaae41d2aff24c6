"""What an installed leadtemp has besides its code: the Kafka pom `leadtemp dev up` fetches the
broker's jars with (package data, so it works from a wheel, not only a checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_the_wheel_ships_the_kafka_pom_next_to_the_module_that_reads_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("leadtemp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"devstack/kafka-pom.xml", "devstack/kafka_broker.py"} <= names
    assert "gateway/app.py" in names  # every package of the project is in it
