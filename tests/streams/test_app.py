"""The Faust app and worker, without services."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import faust
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams.app import faust_credentials, without_faust_monitor
from streams.plumbing.kafka_access import KafkaAccess
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


def test_faust_gets_sasl_ssl_when_tls_is_asked_for_with_sasl() -> None:
    access = KafkaAccess("b:9093", "SASL_SSL", "SCRAM-SHA-512", "u", "pw")
    auth = credentials_to_aiokafka_auth(faust_credentials(access))
    assert (auth["security_protocol"], auth["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert auth["ssl_context"] is not None and auth["sasl_plain_password"] == "pw"


def test_faust_gets_sasl_plaintext_without_tls() -> None:
    access = KafkaAccess("b:9092", "SASL_PLAINTEXT", "PLAIN", "u", "pw")
    auth = credentials_to_aiokafka_auth(faust_credentials(access))
    assert (auth["security_protocol"], auth["ssl_context"]) == ("SASL_PLAINTEXT", None)


def test_faust_gets_ssl_alone_with_the_same_context_as_the_other_clients() -> None:
    auth = credentials_to_aiokafka_auth(faust_credentials(KafkaAccess("b:9093", "SSL")))
    assert auth["security_protocol"] == "SSL" and auth["ssl_context"].check_hostname


def test_faust_gets_no_credentials_on_plaintext() -> None:
    assert faust_credentials(KafkaAccess("b:9092")) is None
