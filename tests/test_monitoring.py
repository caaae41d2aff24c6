"""deploy/: the Prometheus alerting rules and the Grafana dashboard. Neither Prometheus nor
Grafana runs here: promtool (from Debian's prometheus package, fetched once without
installing it) checks the rules' syntax and behaviour and the dashboard's queries, and the
tests check that they read metrics the worker and the notifier export, and that `docker
compose` loads them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus-rules.yml"


def exported_names(module: ModuleType) -> set[str]:
    """The series names a metrics module's counters, gauges and histograms export."""
    names: set[str] = set()
    for metric in vars(module).values():
        if isinstance(metric, Counter):
            names.add(f"{metric._name}_total")
        elif isinstance(metric, Histogram):
            names |= {f"{metric._name}_{s}" for s in ("bucket", "sum", "count")}
        elif isinstance(metric, Gauge):
            names.add(metric._name)
    return names


def exported() -> set[str]:
    from alerts import metrics as notifier_metrics
    from gateway import metrics as gateway_metrics
    from streams import metrics as worker_metrics

    return (exported_names(worker_metrics) | exported_names(notifier_metrics)
            | exported_names(gateway_metrics))  # fmt: skip


def rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def test_every_metric_a_rule_reads_is_exported_by_one_of_the_processes() -> None:
    read = {name for rule in rules() for name in re.findall(r"leadtemp_\w+", rule["expr"])}
    assert read and read <= exported(), read - exported()


def test_every_rule_has_a_severity_and_a_summary() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_up_rules_name_the_jobs_prometheus_scrapes() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    named = {m for rule in rules() for m in re.findall(r'job="([^"]+)"', rule["expr"])}
    assert named == jobs


def test_compose_mounts_the_rules_where_prometheus_loads_them() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    [loaded] = config["rule_files"]
    assert f"./deploy/prometheus-rules.yml:{loaded}:ro" in services["prometheus"]["volumes"]


DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "leadtemp.json"


def dashboard_queries() -> list[str]:
    return [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]


def test_every_metric_the_dashboard_reads_is_exported_by_the_worker_or_the_notifier() -> None:
    read = {name for expr in dashboard_queries() for name in re.findall(r"leadtemp_\w+", expr)}
    assert read and read <= exported(), read - exported()


def test_the_dashboard_shows_every_metric_of_the_worker() -> None:
    from streams import metrics as worker_metrics

    shown = " ".join(dashboard_queries())
    metrics = [
        m for m in vars(worker_metrics).values() if isinstance(m, Counter | Gauge | Histogram)
    ]
    assert metrics and [m._name for m in metrics if m._name not in shown] == []


def test_compose_provisions_the_dashboard_on_the_stacks_prometheus() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    grafana = services["grafana"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    [source] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert (
        source["url"] == "http://prometheus:9090" and "9090:9090" in services["prometheus"]["ports"]
    )
    uids = {t["datasource"]["uid"] for p in json.loads(DASHBOARD.read_text())["panels"]
            for t in p["targets"]}  # fmt: skip
    assert uids == {source["uid"]}


@pytest.fixture(scope="module")
def promtool() -> str:
    """promtool: on the PATH, or extracted from Debian's prometheus package into the cache."""
    from devstack.settings import dev_settings

    if found := shutil.which("promtool"):
        return found
    cached = dev_settings().home / "bin" / "promtool"
    if not cached.exists():
        if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
            pytest.skip("no promtool on the PATH, and no apt-get to fetch Debian's")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", "-qq", "prometheus"], cwd=tmp, check=True)
            [deb] = Path(tmp).glob("prometheus_*.deb")
            subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/root"], check=True)
            cached.parent.mkdir(parents=True, exist_ok=True)
            part = cached.with_suffix(".part")  # an interrupted copy is never taken for done
            shutil.copy2(f"{tmp}/root/usr/bin/promtool", part)
            part.replace(cached)
    return str(cached)


def test_the_rules_pass_their_promtool_unit_tests(promtool: str) -> None:
    tests = ROOT / "deploy" / "prometheus-rules.test.yml"
    run = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_dashboards_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    # promtool checks expressions in rule files: each query as a recording rule.
    records = [
        {"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(dashboard_queries())
    ]
    rules_file = tmp_path / "dashboard-rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    run = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True,
                         text=True)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_prometheus_config_is_valid(promtool: str, tmp_path: Path) -> None:
    # As compose mounts it, but with the rules file where it is in the repository.
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    config["rule_files"] = [str(RULES)]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
