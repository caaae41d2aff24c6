"""The routing file: destinations, people, owners, routes; which deliveries an alert gets."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from alerts.alert import Alert
from scoring import validation_message
from streams.plumbing.settings import Secret

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MATCH_FIELDS = ("kind", "priority", "segment", "region", "account_id")


class RoutingError(ValueError):
    """A routing file that cannot be used; the message names the key and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _e164(value: str | None) -> str | None:
    if value is not None and not E164.match(value):
        raise ValueError(f"{value!r} is not an E.164 phone number (like +14155550100)")
    return value


def _https_or_loopback(url: str) -> str:
    """Alerts carry personal data: plain http only to this machine (tests, local receivers)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return url
        raise ValueError("must be https (plain http is allowed only for loopback addresses)")
    raise ValueError(f"{url!r} is not an http(s) URL")


class Limit(_Strict):
    """At most `messages` per recipient within `per_minutes`; the rest go into one digest."""

    messages: int = Field(ge=1, le=10_000)
    per_minutes: float = Field(gt=0, le=24 * 60)


class QuietHours(_Strict):
    """Hold alerts of these priorities between start and end in the recipient's timezone."""

    start: time
    end: time
    priorities: list[Literal["P1", "P2"]] = ["P2"]

    def end_after(self, now_ms: int, zone: str, priority: str) -> int | None:
        """When the quiet hours around `now_ms` end (epoch ms), or None if an alert of this
        priority may go out now."""
        if priority not in self.priorities or self.start == self.end:
            return None
        local = datetime.fromtimestamp(now_ms / 1000, ZoneInfo(zone))
        t = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= t < self.end
        else:  # over midnight, e.g. 21:00-08:00
            inside = t >= self.start or t < self.end
        if not inside:
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end = (local + timedelta(days=1)).replace(
                hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0
            )
        return int(end.timestamp() * 1000)


class _Destination(_Strict):
    timeout_seconds: float = Field(default=10, gt=0, le=300)
    limit: Limit | None = None
    quiet_hours: QuietHours | None = None


class ConsoleDestination(_Destination):
    type: Literal["console"]


class SlackWebhookDestination(_Destination):
    type: Literal["slack_webhook"]
    webhook_url: Secret

    @model_validator(mode="after")
    def _secure(self) -> Self:
        try:
            _https_or_loopback(self.webhook_url.value)
        except ValueError as e:
            raise ValueError(f"webhook_url: {e}") from None
        return self


class SlackApiDestination(_Destination):
    """chat.postMessage with a bot token: to the owner's Slack id, else to `channel`."""

    type: Literal["slack_api"]
    token: Secret
    channel: str | None = None
    base_url: str = "https://slack.com/api/"

    _check_url = field_validator("base_url")(lambda cls, v: _https_or_loopback(v))


class TwilioSmsDestination(_Destination):
    """Twilio's Messages API: to the owner's phone, else to `to`."""

    type: Literal["twilio_sms"]
    account_sid: Secret
    auth_token: Secret
    from_: str = Field(alias="from")
    to: str | None = None
    timezone: str = "UTC"  # of `to`
    base_url: str = "https://api.twilio.com"

    _check_numbers = field_validator("from_", "to")(lambda cls, v: _e164(v))
    _check_url = field_validator("base_url")(lambda cls, v: _https_or_loopback(v))
    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))


class WebhookDestination(_Destination):
    """A signed JSON POST for any receiver (CRM, queue, in-house tools)."""

    type: Literal["webhook"]
    url: str
    signing_secret: Secret

    _check_url = field_validator("url")(lambda cls, v: _https_or_loopback(v))


Destination = Annotated[
    ConsoleDestination
    | SlackWebhookDestination
    | SlackApiDestination
    | TwilioSmsDestination
    | WebhookDestination,
    Field(discriminator="type"),
]
DESTINATION_TYPES = ("console", "slack_webhook", "slack_api", "twilio_sms", "webhook")
PERSONAL = ("slack_api", "twilio_sms")  # addressed to a person, so owners and escalation apply


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None
    return name


class Person(_Strict):
    name: str
    slack: str | None = None  # a Slack user or channel id
    phone: str | None = None
    timezone: str = "UTC"

    _check_phone = field_validator("phone")(lambda cls, v: _e164(v))
    _check_zone = field_validator("timezone")(lambda cls, v: _zone(v))


class Match(_Strict):
    """Every key given must match (case-insensitive); a list matches any of its values."""

    kind: list[Literal["hot_lead", "hot_account"]] = []
    priority: list[Literal["P1", "P2"]] = []
    segment: list[str] = []
    region: list[str] = []
    account_id: list[str] = []
    contact: dict[str, list[str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _scalars_as_lists(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data

        def listed(v: Any) -> Any:
            return [v] if isinstance(v, str | int | float) else v

        out = {k: listed(v) for k, v in data.items() if k != "contact"}
        if isinstance(data.get("contact"), dict):
            out["contact"] = {k: listed(v) for k, v in data["contact"].items()}
        elif "contact" in data:
            out["contact"] = data["contact"]
        return out

    def matches(self, alert: Alert) -> bool:
        wanted = [(f, getattr(self, f)) for f in MATCH_FIELDS]
        wanted += [(f"contact.{k}", v) for k, v in self.contact.items()]
        for name, values in wanted:
            if not values:
                continue
            actual = alert.field(name)
            if actual is None or actual.casefold() not in {str(v).casefold() for v in values}:
                return False
        return True


class Owner(_Strict):
    match: Match = Match()
    rep: str
    manager: str | None = None


class Route(_Strict):
    match: Match = Match()
    to: list[str] = Field(min_length=1)


class Retry(_Strict):
    """Retry budget of one delivery before it is dead-lettered."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    max_seconds: float = Field(default=600, gt=0, le=86_400)
    base_seconds: float = Field(default=0.5, gt=0, le=60)
    max_backoff_seconds: float = Field(default=60, gt=0, le=3_600)


class Routing(_Strict):
    """The whole routing file; the defaults print every alert on the console."""

    destinations: dict[str, Destination] = {"console": ConsoleDestination(type="console")}
    people: dict[str, Person] = {}
    owners: list[Owner] = []
    routes: list[Route] = []
    default: list[str] = ["console"]
    escalate: list[Literal["P1", "P2"]] = ["P1"]
    crm_url: str | None = None  # e.g. https://crm.example.com/leads/{lead_id}
    retry: Retry = Retry()

    @model_validator(mode="before")
    @classmethod
    def _console_always_there(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("destinations"), dict):
            console = {"console": {"type": "console"}}
            data = {**data, "destinations": {**console, **data["destinations"]}}
        return data

    @model_validator(mode="after")
    def _references(self) -> Self:
        problems = []
        for i, route in enumerate(self.routes):
            problems += [f"routes.{i}.to: unknown destination {n!r}"
                         for n in route.to if n not in self.destinations]  # fmt: skip
        problems += [f"default: unknown destination {n!r}"
                     for n in self.default if n not in self.destinations]  # fmt: skip
        for i, owner in enumerate(self.owners):
            for role in ("rep", "manager"):
                who = getattr(owner, role)
                if who is not None and who not in self.people:
                    problems.append(f"owners.{i}.{role}: unknown person {who!r}")
        if self.crm_url is not None:
            try:
                self.crm_url.format(lead_id="x", account_id="x")
            except (KeyError, IndexError, ValueError) as e:
                problems.append(f"crm_url: only {{lead_id}} and {{account_id}} may be used ({e})")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def owner_of(self, alert: Alert) -> Owner | None:
        """The first owner entry that matches the alert."""
        return next((o for o in self.owners if o.match.matches(alert)), None)

    def destinations_for(self, alert: Alert) -> list[str]:
        """Every matching route's destinations, in file order, once; else the default."""
        names: list[str] = []
        for route in self.routes:
            if route.match.matches(alert):
                names += [n for n in route.to if n not in names]
        return names or list(self.default)


class Delivery(BaseModel):
    """One message to send: an alert, a destination, and the person it is for (if personal)."""

    model_config = ConfigDict(frozen=True)

    destination: str
    person: str | None = None  # key in `people`; None: the destination's own channel/number
    escalated: bool = False

    @property
    def key(self) -> str:
        """Identifies the delivery within its alert (ledger, dead letters, metrics-free)."""
        return f"{self.destination}:{self.person or '-'}"


def deliveries_for(alert: Alert, routing: Routing) -> list[Delivery]:
    """The deliveries an alert gets: personal destinations reach the owner's rep and, for
    escalated priorities, the manager too."""
    owner = routing.owner_of(alert)
    out: list[Delivery] = []
    for name in routing.destinations_for(alert):
        if routing.destinations[name].type not in PERSONAL:
            out.append(Delivery(destination=name))
            continue
        out.append(Delivery(destination=name, person=owner.rep if owner else None))
        if owner and owner.manager and alert.priority in routing.escalate:
            out.append(Delivery(destination=name, person=owner.manager, escalated=True))
    return out


def routing_from_mapping(
    data: Any, source: str = "routes", environ: Mapping[str, str] | None = None
) -> Routing:
    """Validate a parsed routing document, reading its secrets from `environ` (or os.environ)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RoutingError(f"{source}: (top level): must be a mapping of keys")
    context = {"environ": os.environ if environ is None else environ}
    try:
        return Routing.model_validate(data, context=context)
    except ValidationError as e:
        # Cross-reference problems come as one top-level error of "key: reason" lines.
        message = validation_message(e, source).replace(f"{source}: (top level): ", "")
        lines = [ln if ln.startswith(f"{source}: ") else f"{source}: {ln}"
                 for ln in message.splitlines()]  # fmt: skip
        # pydantic puts the destination type in the path; the file has no such key.
        types = "|".join(DESTINATION_TYPES)
        lines = [re.sub(rf"^(.*?: destinations\.[^.:]+)\.(?:{types})\b", r"\1", ln) for ln in lines]
        raise RoutingError("\n".join(lines)) from None


def routing_from_file(path: str | None, environ: Mapping[str, str] | None = None) -> Routing:
    """The routing file at `path`, or the default (console only) when there is none."""
    if path is None:
        return routing_from_mapping({}, environ=environ)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise RoutingError(f"{path}: cannot read: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RoutingError(f"{path}: not valid YAML: {e}") from None
    return routing_from_mapping(data, path, environ)
