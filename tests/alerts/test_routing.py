"""The routing file: validation names the key; matching, owners and escalation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alerts.alert import Alert, alert_from
from alerts.routing import RoutingError, deliveries_for, routing_from_mapping
from tests.alerts.conftest import alert

ENV = {"TOKEN": "xoxb-1", "SID": "AC1", "AUTH": "secret", "HOOK": "https://hooks.slack.com/x"}
SMS = {"type": "twilio_sms", "account_sid": {"env": "SID"}, "auth_token": {"env": "AUTH"},
       "from": "+15005550006"}  # fmt: skip
SLACK = {"type": "slack_api", "token": {"env": "TOKEN"}}
PEOPLE = {"ana": {"name": "Ana", "phone": "+14155550101", "slack": "U1"},
          "max": {"name": "Max", "phone": "+14155550102", "slack": "U2"}}  # fmt: skip


def routing(**doc: Any) -> Any:
    return routing_from_mapping(doc, environ=ENV)


def error_of(**doc: Any) -> str:
    with pytest.raises(RoutingError) as e:
        routing(**doc)
    return str(e.value)


def lead_alert(**changes: Any) -> Alert:
    return alert_from("hot_lead", alert(1, **changes))


def test_without_a_file_every_alert_goes_to_the_console() -> None:
    r = routing()
    assert [d.destination for d in deliveries_for(lead_alert(), r)] == ["console"]


def test_an_unknown_key_is_named() -> None:
    assert error_of(routez=[]) == "routes: routez: unknown key"


def test_a_missing_secret_names_its_variable() -> None:
    msg = error_of(destinations={"s": {"type": "slack_api", "token": {"env": "NOPE"}}})
    assert "destinations.s" in msg and "environment variable NOPE is not set" in msg


def test_a_secret_cannot_be_written_in_the_file() -> None:
    assert "token" in error_of(destinations={"s": {"type": "slack_api", "token": "xoxb-1"}})


def test_plain_http_is_refused_except_to_loopback() -> None:
    hook = {"type": "webhook", "signing_secret": {"env": "AUTH"}}
    assert "must be https" in error_of(destinations={"h": {**hook, "url": "http://crm.example"}})
    routing(destinations={"h": {**hook, "url": "http://127.0.0.1:8080/x"}})
    routing(destinations={"h": {**hook, "url": "https://crm.example/x"}})


def test_phone_numbers_must_be_e164() -> None:
    assert "E.164" in error_of(destinations={"s": {**SMS, "from": "555-0100"}})
    assert "people.p.phone" in error_of(people={"p": {"name": "P", "phone": "0044 20 7946"}})


def test_an_unknown_timezone_is_named() -> None:
    assert "people.p.timezone: unknown timezone" in error_of(
        people={"p": {"name": "P", "timezone": "Mars/Olympus"}}
    )


def test_a_route_to_an_unknown_destination_is_named() -> None:
    assert error_of(routes=[{"to": ["slak"]}]) == "routes: routes.0.to: unknown destination 'slak'"


def test_an_owner_must_be_a_known_person() -> None:
    assert "owners.0.manager: unknown person 'bob'" in error_of(
        people=PEOPLE, owners=[{"rep": "ana", "manager": "bob"}]
    )


def test_a_route_matches_when_every_key_matches_case_insensitively() -> None:
    r = routing(destinations={"s": SLACK},
                routes=[{"match": {"region": "na", "segment": ["smb", "Enterprise"],
                                   "contact": {"country": "us"}}, "to": ["s"]}])  # fmt: skip
    assert [d.destination for d in deliveries_for(lead_alert(), r)] == ["s"]
    emea = lead_alert(routing={"segment": "enterprise", "region": "EMEA"})
    assert [d.destination for d in deliveries_for(emea, r)] == ["console"]  # the default


def test_every_matching_route_contributes_each_destination_once() -> None:
    r = routing(destinations={"s": SLACK, "t": SMS},
                routes=[{"match": {"priority": "P1"}, "to": ["s", "t"]},
                        {"match": {"kind": "hot_lead"}, "to": ["t", "console"]}])  # fmt: skip
    assert r.destinations_for(lead_alert()) == ["s", "t", "console"]


def test_a_p1_alert_reaches_the_rep_and_the_manager() -> None:
    r = routing(destinations={"t": SMS}, people=PEOPLE, default=["t"],
                owners=[{"match": {"region": "NA"}, "rep": "ana", "manager": "max"}])  # fmt: skip
    got = [(d.person, d.escalated) for d in deliveries_for(lead_alert(), r)]
    assert got == [("ana", False), ("max", True)]


def test_a_p2_alert_reaches_the_rep_only() -> None:
    r = routing(destinations={"t": SMS}, people=PEOPLE, default=["t"],
                owners=[{"rep": "ana", "manager": "max"}])  # fmt: skip
    assert [d.person for d in deliveries_for(lead_alert(priority="P2"), r)] == ["ana"]


def test_shared_destinations_are_not_escalated() -> None:
    r = routing(destinations={"h": {"type": "slack_webhook", "webhook_url": {"env": "HOOK"}}},
                people=PEOPLE, default=["h"], owners=[{"rep": "ana", "manager": "max"}])  # fmt: skip
    assert [(d.destination, d.person) for d in deliveries_for(lead_alert(), r)] == [("h", None)]


def test_the_first_matching_owner_is_the_owner() -> None:
    r = routing(destinations={"t": SMS}, people=PEOPLE, default=["t"],
                owners=[{"match": {"region": "EMEA"}, "rep": "max"}, {"rep": "ana"}])  # fmt: skip
    assert [d.person for d in deliveries_for(lead_alert(priority="P2"), r)] == ["ana"]


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


QUIET = {**SMS, "quiet_hours": {"start": "21:00", "end": "08:00"}}


def test_quiet_hours_over_midnight_end_the_next_morning_in_the_recipients_zone() -> None:
    q = routing(destinations={"t": QUIET}).destinations["t"].quiet_hours
    # 23:30 in Madrid (22:30 UTC, CET) → quiet until 08:00 Madrid = 07:00 UTC.
    end = q.end_after(ms("2026-11-23T22:30:00+00:00"), "Europe/Madrid", "P2")
    assert end == ms("2026-11-24T07:00:00+00:00")


def test_outside_quiet_hours_nothing_is_held() -> None:
    q = routing(destinations={"t": QUIET}).destinations["t"].quiet_hours
    assert q.end_after(ms("2026-11-23T12:00:00+00:00"), "Europe/Madrid", "P2") is None


def test_quiet_hours_do_not_hold_p1() -> None:
    q = routing(destinations={"t": QUIET}).destinations["t"].quiet_hours
    assert q.end_after(ms("2026-11-23T22:30:00+00:00"), "Europe/Madrid", "P1") is None


def test_the_crm_url_may_only_use_lead_and_account_ids() -> None:
    assert "crm_url" in error_of(crm_url="https://crm/{email}")


def test_an_alert_missing_its_id_is_invalid() -> None:
    from alerts.alert import InvalidAlert

    bad = alert(1)
    del bad["alert_id"]
    with pytest.raises(InvalidAlert, match="alert_id"):
        alert_from("hot_lead", bad)
    assert datetime(2026, 11, 20, 14, 8, 11, tzinfo=UTC) == lead_alert().respond_by


def test_the_example_routing_file_is_valid(tmp_path: Any) -> None:
    import yaml

    from alerts.routing import routing_from_file

    secret = tmp_path / "twilio_auth_token"
    secret.write_text("token\n")
    text = (Path(__file__).parents[2] / "deploy" / "routes.example.yaml").read_text()
    path = tmp_path / "routes.yaml"
    path.write_text(text.replace("/run/secrets/twilio_auth_token", str(secret)))
    env = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X",
           "SLACK_BOT_TOKEN": "xoxb-1", "TWILIO_ACCOUNT_SID": "AC1",
           "LEADTEMP_WEBHOOK_SECRET": "s"}  # fmt: skip
    r = routing_from_file(str(path), environ=env)
    assert r.destinations["rep-sms"].auth_token.value == "token"
    assert yaml.safe_load(text)["default"] == ["console"]
    got = {(d.destination, d.person) for d in deliveries_for(lead_alert(), r)}
    assert got == {("rep-sms", "lee"), ("rep-sms", "max"), ("rep-slack", "lee"),
                   ("rep-slack", "max"), ("sales-channel", None), ("crm-hook", None)}  # fmt: skip
