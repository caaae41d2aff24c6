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


def test_compose_runs_the_demo_with_a_simulator_and_prometheus() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert "leadtemp simulate" in " ".join(services["simulator"]["command"])
    assert (
        "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in services["prometheus"]["volumes"]
    )


def test_prometheus_scrapes_the_ports_the_worker_notifier_and_gateway_publish() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    config = yaml.safe_load((COMPOSE.parent / "deploy" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for s in job["static_configs"]
               for t in s["targets"]}  # fmt: skip
    assert targets == {"worker:9108", "notifier:9109", "gateway:9110"}
    assert "9108:9108" in services["worker"]["ports"]
    assert "9109:9109" in services["notifier"]["ports"]
    assert "9110:9110" in services["gateway"]["ports"]
