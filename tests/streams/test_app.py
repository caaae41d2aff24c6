"""The Faust app and worker, without services."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import faust

from streams.app import without_faust_monitor
from streams.worker import service_worker


def test_at_warning_level_the_worker_leaves_debug_logging_off(tmp_path: Path) -> None:
    app = faust.App("leadtemp-probe", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    logger = logging.Logger("probe")
    logger.addHandler(logging.NullHandler())
    service_worker(app, "warning").on_setup_root_logger(logger, logging.WARNING)
    assert logger.level != logging.DEBUG and len(logger.handlers) == 1


def test_once_started_the_app_keeps_no_faust_monitor_statistics(tmp_path: Path) -> None:
    app = faust.App("leadtemp-probe", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    without_faust_monitor(app)
    list(app.on_init_dependencies())  # what Faust does at start: adds its Monitor
    assert app.monitor in set(app.sensors)
    for task in app._app_tasks:  # what Faust runs once the app has started
        asyncio.run(task())
    assert app.monitor not in set(app.sensors)
