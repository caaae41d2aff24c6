"""The Helm chart (deploy/helm/leadtemp): it lints, renders with the default values and with a
production-like set (SASL_SSL, TLS Redis, existing Secrets, 3 workers, monitoring on), and
every object it renders is valid against the Kubernetes schemas (kubernetes-validate); the
objects carry what the processes need: their settings, probes, secrets by reference only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "leadtemp"
RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus-rules.yml"
# The oldest Kubernetes still commonly run, and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
# Prometheus Operator kinds: no schema ships for them; checked by hand below.
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}

PRODUCTION = {
    "image": {"repository": "registry.example.com/leadtemp", "tag": "0.1.0"},
    "kafka": {"bootstrapServers": "b-1.example:9096,b-2.example:9096",
              "securityProtocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-512",
              "username": "leadtemp", "passwordSecret": {"name": "kafka-credentials"},
              "tlsSecret": {"name": "kafka-ca", "caKey": "ca.crt"}},
    "redis": {"url": "rediss://redis.example:6380/0", "username": "leadtemp",
              "passwordSecret": {"name": "redis-credentials"},
              "tlsSecret": {"name": "redis-tls", "caKey": "ca.crt", "certKey": "tls.crt",
                            "keyKey": "tls.key"}},
    "topics": {"prefix": "prod.", "partitions": 12, "inputRetentionDays": 400},
    "rules": "version: prod-2026-12\n",
    "worker": {"replicas": 3, "apiTokenSecret": {"name": "leadtemp-api-token"}},
    "notifier": {"replicas": 2, "secretEnv": "notifier-destinations",
                 "routes": "destinations:\n  sales:\n    type: slack_webhook\n"
                           "    webhook_url: {env: SLACK_WEBHOOK_URL}\ndefault: [sales]\n"},
    "gateway": {"enabled": True, "secretEnv": "gateway-sources",
                "sources": "segment:\n  write_keys: [{env: SEGMENT_WRITE_KEY}]\n"},
    "serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True},
    "grafanaDashboard": {"enabled": True},
}  # fmt: skip


def helm_binary() -> str:
    """deploy/setup.sh links Helm into the virtualenv (built from its Go module if need be)."""
    helm = Path(sys.executable).parent / "helm"
    if not helm.exists():
        if os.environ.get("CI"):
            pytest.fail("no helm in .venv/bin: deploy/setup.sh should have built it")
        pytest.skip("no helm (deploy/setup.sh builds it where Go is installed)")
    return str(helm)


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True, timeout=120)


def values_file(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def rendered(tmp_path: Path, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    args = ["template", "lt", str(CHART)]
    if values is not None:
        args += ["-f", str(values_file(tmp_path, values))]
    done = helm(*args)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [c] = deployment["spec"]["template"]["spec"]["containers"]
    return c  # type: ignore[no-any-return]


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}


@pytest.mark.parametrize("values", [None, PRODUCTION], ids=["defaults", "production"])
def test_the_chart_lints(tmp_path: Path, values: dict[str, Any] | None) -> None:
    args = ["lint", "--strict", str(CHART)]
    if values is not None:
        args += ["-f", str(values_file(tmp_path, values))]
    done = helm(*args)
    assert done.returncode == 0, done.stdout + done.stderr


REBUILDING = {**PRODUCTION, "rebuild": {"enabled": True},
              "worker": {**PRODUCTION["worker"], "replicas": 0}}


@pytest.mark.parametrize("values", [None, PRODUCTION, REBUILDING],
                         ids=["defaults", "production", "rebuilding"])  # fmt: skip
def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(
    tmp_path: Path, values: dict[str, Any] | None
) -> None:
    objects = rendered(tmp_path, values)
    for version in KUBERNETES_VERSIONS:
        for o in objects:
            if o["kind"] not in OPERATOR_KINDS:
                kubernetes_validate.validate(o, version, strict=True)  # raises when invalid


def test_defaults_render_the_two_processes_their_services_budgets_and_the_topics_job(
    tmp_path: Path,
) -> None:
    kinds = sorted(o["kind"] for o in rendered(tmp_path))
    assert kinds == ["Deployment", "Deployment", "Job", "PodDisruptionBudget",
                     "PodDisruptionBudget", "Service", "Service"]  # fmt: skip


def test_the_worker_is_probed_on_the_endpoints_it_serves(tmp_path: Path) -> None:
    [worker] = [d for d in by_kind(rendered(tmp_path), "Deployment") if "worker" in d["metadata"]["name"]]
    c = container(worker)
    paths = {p: c[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe",
                                                  "readinessProbe")}  # fmt: skip
    assert paths == {"startupProbe": "/healthz", "livenessProbe": "/livez",
                     "readinessProbe": "/readyz"}  # fmt: skip
    assert c["command"] == ["leadtemp", "worker"]


def test_production_credentials_come_from_the_existing_secrets_never_from_values(
    tmp_path: Path,
) -> None:
    objects = rendered(tmp_path, PRODUCTION)
    assert by_kind(objects, "Secret") == []
    deployments = {d["metadata"]["name"]: d for d in by_kind(objects, "Deployment")}
    env = env_of(container(deployments["lt-leadtemp-worker"]))
    assert env["LEADTEMP_KAFKA_PASSWORD"] == {"secretKeyRef": {"name": "kafka-credentials",
                                                               "key": "password"}}
    assert env["LEADTEMP_REDIS_PASSWORD"]["secretKeyRef"]["name"] == "redis-credentials"
    assert env["LEADTEMP_API_TOKEN"]["secretKeyRef"]["name"] == "leadtemp-api-token"
    assert (env["LEADTEMP_KAFKA_SECURITY_PROTOCOL"], env["LEADTEMP_KAFKA_SASL_MECHANISM"]) == (
        "SASL_SSL", "SCRAM-SHA-512")
    assert env["LEADTEMP_KAFKA_CA_FILE"] == "/etc/leadtemp/kafka-tls/ca.crt"
    assert env["LEADTEMP_REDIS_KEY_FILE"] == "/etc/leadtemp/redis-tls/tls.key"
    assert deployments["lt-leadtemp-worker"]["spec"]["replicas"] == 3
    notifier = container(deployments["lt-leadtemp-notifier"])
    assert notifier["envFrom"] == [{"secretRef": {"name": "notifier-destinations"}}]
    assert env_of(notifier)["LEADTEMP_ROUTES"] == "/etc/leadtemp/routes/routes.yaml"


def test_the_rules_and_routes_are_config_maps_mounted_where_the_settings_point(
    tmp_path: Path,
) -> None:
    objects = rendered(tmp_path, PRODUCTION)
    maps = {m["metadata"]["name"]: m["data"] for m in by_kind(objects, "ConfigMap")}
    assert maps["lt-leadtemp-rules"] == {"rules.yaml": PRODUCTION["rules"]}
    assert yaml.safe_load(maps["lt-leadtemp-routes"]["routes.yaml"])["default"] == ["sales"]
    [job] = by_kind(objects, "Job")
    c = container({"spec": {"template": job["spec"]["template"]}})
    assert env_of(c)["LEADTEMP_RULES"] == "/etc/leadtemp/rules/rules.yaml"
    assert {"name": "rules", "mountPath": "/etc/leadtemp/rules", "readOnly": True} in \
        c["volumeMounts"]  # fmt: skip


def test_the_prometheus_rule_holds_the_repository_alert_rules_unchanged(tmp_path: Path) -> None:
    [rule] = by_kind(rendered(tmp_path, PRODUCTION), "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_the_service_monitor_names_jobs_as_the_alert_rules_select_them(tmp_path: Path) -> None:
    objects = rendered(tmp_path, PRODUCTION)
    [monitor] = by_kind(objects, "ServiceMonitor")
    label = monitor["spec"]["jobLabel"]
    jobs = {s["metadata"]["labels"][label] for s in by_kind(objects, "Service")}
    assert jobs == {"leadtemp-worker", "leadtemp-notifier", "leadtemp-gateway"}
    assert all(f'job="{j}"' in RULES.read_text() for j in jobs)


def test_sasl_without_a_password_secret_fails_to_render_naming_the_value(tmp_path: Path) -> None:
    values = {"kafka": {"securityProtocol": "SASL_SSL", "username": "leadtemp"}}
    done = helm("template", "lt", str(CHART), "-f", str(values_file(tmp_path, values)))
    assert done.returncode != 0
    assert "kafka.passwordSecret.name is required with SASL" in done.stderr


def test_a_rebuild_job_runs_with_the_workers_settings_once_they_are_scaled_to_zero(
    tmp_path: Path,
) -> None:
    objects = rendered(tmp_path, {"rebuild": {"enabled": True, "replace": True},
                                  "worker": {"replicas": 0}})  # fmt: skip
    (job,) = [o for o in objects if o["metadata"]["name"].endswith("-rebuild")]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["leadtemp", "rebuild", "--replace"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LEADTEMP_GROUP_ID"] == "leadtemp-worker" and "REDIS_URL" in env
    assert not [o for o in rendered(tmp_path) if o["metadata"]["name"].endswith("-rebuild")]


def test_a_rebuild_with_workers_running_fails_to_render_saying_so(tmp_path: Path) -> None:
    values = {"rebuild": {"enabled": True}}
    done = helm("template", "lt", str(CHART), "-f", str(values_file(tmp_path, values)))
    assert done.returncode != 0 and "rebuild.enabled needs worker.replicas=0" in done.stderr


def test_the_gateway_is_off_by_default_and_on_reads_its_sources_and_their_secrets(
    tmp_path: Path,
) -> None:
    assert not [d for d in by_kind(rendered(tmp_path), "Deployment")
                if d["metadata"]["name"].endswith("-gateway")]  # fmt: skip
    objects = rendered(tmp_path, PRODUCTION)
    [gateway] = [d for d in by_kind(objects, "Deployment")
                 if d["metadata"]["name"] == "lt-leadtemp-gateway"]  # fmt: skip
    c = container(gateway)
    assert c["command"] == ["leadtemp", "gateway"]
    assert env_of(c)["LEADTEMP_SOURCES"] == "/etc/leadtemp/sources/sources.yaml"
    assert c["envFrom"] == [{"secretRef": {"name": "gateway-sources"}}]
    maps = {m["metadata"]["name"]: m["data"] for m in by_kind(objects, "ConfigMap")}
    assert maps["lt-leadtemp-sources"] == {"sources.yaml": PRODUCTION["gateway"]["sources"]}
