"""The Faust app and worker, without services."""

from __future__ import annotations

import logging
from pathlib import Path

import faust

from streams.app import service_worker


def test_at_warning_level_the_worker_leaves_debug_logging_off(tmp_path: Path) -> None:
    app = faust.App("leadtemp-probe", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    logger = logging.Logger("probe")
    logger.addHandler(logging.NullHandler())
    service_worker(app, "warning").on_setup_root_logger(logger, logging.WARNING)
    assert logger.level != logging.DEBUG and len(logger.handlers) == 1
