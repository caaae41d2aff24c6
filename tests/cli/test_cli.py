"""The `leadtemp` command line: replay, rules and schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from click.testing import CliRunner

from cli.main import main

NOW = ["--now", "2026-11-01T00:00:00Z"]


def invoke(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def lines(text: str) -> list[dict]:
    return [orjson.loads(line) for line in text.splitlines()]


def test_replay_writes_one_json_line_per_record_in_the_replay_format(examples: Path) -> None:
    code, out, err = invoke("replay", str(examples / "personas.jsonl"), *NOW)
    assert code == 0, err
    records = lines(out)
    assert records[0] == {"topic": "leads.temperature", "key": "jane", "value": records[0]["value"]}
    assert sum(r["topic"] == "alerts.hot-lead" for r in records) == 2
    assert "replay summary" in err and "duplicates skipped" in err


def test_replay_reads_stdin_and_writes_a_file(examples: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "out.jsonl"
    data = (examples / "personas.jsonl").read_bytes()
    code, _, err = invoke("replay", "-", "-o", str(out_file), "-q", *NOW, input=data)
    assert code == 0, err
    assert lines(out_file.read_text()) == lines(invoke("replay", "-", "-q", *NOW, input=data)[1])


def test_replay_until_emits_the_downgrades_due_by_then(examples: Path) -> None:
    path = str(examples / "personas.jsonl")
    plain = lines(invoke("replay", path, "-q", *NOW)[1])
    later = lines(invoke("replay", path, "-q", *NOW, "--until", "2026-12-31T00:00:00Z")[1])
    assert later[: len(plain)] == plain
    extra = [r["value"] for r in later[len(plain) :] if r["topic"] == "leads.temperature"]
    # lisa's automatic SQL ends after 30 days, then her engagement decays; omar's BANT lasts 90
    assert [(r["lead_id"], r["to"]) for r in extra] == [("lisa", "warm"), ("lisa", "cold")]
    assert all(r["caused_by_event_id"] is None and "decay" in r["reasons"] for r in extra)


def test_replay_with_a_bad_rules_file_stops_naming_the_key(examples: Path, tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("thresholds:\n  warm_total: 90\n")
    code, out, err = invoke("replay", str(examples / "personas.jsonl"), "--rules", str(bad))
    assert code == 2 and out == ""
    assert "thresholds: warm_total (90) is above hot_total (50)" in err


def test_rules_file_may_come_from_the_environment(examples: Path, tmp_path: Path) -> None:
    custom = tmp_path / "rules.yaml"
    custom.write_text("version: '2026-11-20.1'\n")
    result = CliRunner(env={"LEADTEMP_RULES": str(custom)}).invoke(
        main, ["replay", str(examples / "personas.jsonl"), "-q", *NOW]
    )
    assert {r["value"].get("rules_version") for r in lines(result.stdout)} - {None} == {
        "2026-11-20.1"
    }


def test_rules_check_accepts_a_good_file(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text("version: v2\nthresholds: {exit_margin: 3}\n")
    assert invoke("rules", "check", str(good))[:2] == (0, f"{good}: ok (version v2)\n")


def test_rules_check_rejects_an_unknown_key(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("icp:\n  sizes: 3\n")
    code, _, err = invoke("rules", "check", str(bad))
    assert code == 2 and "icp.sizes: unknown key" in err


def test_rules_show_prints_the_effective_rules_with_defaults(tmp_path: Path) -> None:
    custom = tmp_path / "rules.yaml"
    custom.write_text("bant: {valid_days: 60}\n")
    shown = yaml.safe_load(invoke("rules", "show", str(custom))[1])
    assert shown["bant"]["valid_days"] == 60
    assert shown["thresholds"]["hot_total"] == 50


def rules_file(tmp_path: Path, text: str, name: str = "candidate.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


WARM_AT_5 = "version: candidate\nthresholds:\n  warm_total: 5\n"


def test_rules_diff_lists_the_leads_a_candidate_would_move(examples: Path, tmp_path: Path) -> None:
    events = str(examples / "personas.jsonl")
    code, out, err = invoke(
        "rules", "diff", rules_file(tmp_path, WARM_AT_5), "--events", events, *NOW, "--json"
    )
    assert code == 0, err
    d = orjson.loads(out)
    assert d["rules_version"] == {"before": "default", "after": "candidate"}
    assert (d["events"], d["leads"]) == (21, 6)
    # the two cold personas with a total between 5 and 21 become warm; the hot ones stay
    assert [(m["lead_id"], m["temperature"]) for m in d["moved"]] == [
        ("visitor-77", {"before": "cold", "after": "warm"}),
        ("raj", {"before": "cold", "after": "warm"}),
    ]
    assert d["temperatures"]["hot"] == {"before": 2, "after": 2}


def test_rules_diff_prints_tables_by_default(examples: Path, tmp_path: Path) -> None:
    code, out, err = invoke("rules", "diff", rules_file(tmp_path, WARM_AT_5),
                            "--events", str(examples / "personas.jsonl"), *NOW)  # fmt: skip
    assert code == 0, err
    assert "rules 'default' → 'candidate': 21 events, 6 leads" in out
    assert "warm now" in out and "0 → 2 (+2)" in out
    assert "leads whose temperature differs (2 of 2)" in out and "visitor-77" in out


def test_rules_diff_compares_against_the_rules_in_use(examples: Path, tmp_path: Path) -> None:
    # LEADTEMP_RULES names the rules in use: a candidate equal to them moves nothing
    in_use = rules_file(tmp_path, WARM_AT_5, "in-use.yaml")
    result = CliRunner(env={"LEADTEMP_RULES": in_use}).invoke(main, [
        "rules", "diff", rules_file(tmp_path, WARM_AT_5), "--json", *NOW,
        "--events", str(examples / "personas.jsonl"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert orjson.loads(result.stdout)["moved"] == []


def test_rules_diff_reads_events_from_stdin(examples: Path, tmp_path: Path) -> None:
    data = (examples / "personas.jsonl").read_bytes()
    code, out, err = invoke("rules", "diff", rules_file(tmp_path, WARM_AT_5), "--events", "-",
                            "--json", *NOW, input=data)  # fmt: skip
    assert code == 0, err
    assert len(orjson.loads(out)["moved"]) == 2


def test_rules_diff_with_a_bad_candidate_stops_naming_the_key(
    examples: Path, tmp_path: Path
) -> None:
    bad = rules_file(tmp_path, "thresholds:\n  warm_total: 90\n")
    code, out, err = invoke("rules", "diff", bad, "--events", str(examples / "personas.jsonl"))
    assert code == 2 and out == ""
    assert "thresholds: warm_total (90) is above hot_total (50)" in err


@pytest.mark.parametrize(
    "args",
    [["replay", "missing.jsonl"], ["rules", "diff", "candidate.yaml", "--events", "missing.jsonl"]],
)
def test_a_missing_events_file_stops_naming_it(args: list[str], tmp_path: Path) -> None:
    rules_file(tmp_path, "version: candidate\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        code, _, err = invoke(*args)
    assert code == 2 and "'missing.jsonl' does not exist" in err


def test_schema_describes_every_event_type() -> None:
    schema = orjson.loads(invoke("schema")[1])
    assert set(schema["discriminator"]["mapping"]) >= {
        "form.submitted",
        "web.page_viewed",
        "email.opened",
    }


def test_schema_of_outputs_names_every_topic() -> None:
    schema = orjson.loads(invoke("schema", "--outputs")[1])
    assert set(schema) == {"leads.temperature", "alerts.hot-lead", "accounts.temperature",
                           "alerts.hot-account", "events.deadletter", "leads.forgotten"}  # fmt: skip
    assert "from" in schema["leads.temperature"]["properties"]


def test_routes_check_accepts_a_good_file(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/X")
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump({
        "destinations": {"team": {"type": "slack_webhook",
                                  "webhook_url": {"env": "SLACK_WEBHOOK_URL"}}},
        "default": ["team", "console"],
    }))  # fmt: skip
    code, out, err = invoke("routes", "check", str(path))
    assert code == 0, err
    assert "team (slack_webhook)" in out and "hooks.slack.com" not in out + err


def test_routes_check_names_the_bad_key_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text("destinations:\n  sms: {type: twilio_sms, from: '12345'}\n")
    code, _, err = invoke("routes", "check", str(path))
    assert code == 2
    assert f"{path}: destinations.sms.account_sid: required" in err


def test_kafka_security_flags_reach_the_settings_which_name_what_is_missing() -> None:
    code, _, err = invoke("produce", "-", "--kafka-security-protocol", "SASL_SSL",
                          "--kafka-username", "leadtemp", input=b"")  # fmt: skip
    assert code == 2
    assert "setting kafka_password (LEADTEMP_KAFKA_PASSWORD): needed with a SASL_*" in err
