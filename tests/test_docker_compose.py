"""docker-compose.yml cannot run here (no Docker engine); check it parses and names the stack."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_file_names_the_services_the_readme_mentions() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"kafka", "redis", "worker", "notifier"} <= set(services)


def test_compose_runs_kafka_in_kraft_mode_from_the_official_3_9_image() -> None:
    kafka = yaml.safe_load(COMPOSE.read_text())["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:3.9")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_every_infrastructure_service_has_a_health_check() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert all("healthcheck" in services[name] for name in ("kafka", "redis"))
