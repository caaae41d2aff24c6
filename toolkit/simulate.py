"""Synthetic, realistic traffic for demos and load: personas of the input contract's events.

Deterministic for a seed and a start time: the same arguments give the same events, byte for
byte. Event times advance by 1/rate seconds per event from the start, so at the requested
rate they track the wall clock."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from scoring import rfc3339_from_ms
from streams.plumbing.kafka_access import kafka_access
from streams.plumbing.settings import Connections
from toolkit.produce import Published, post_to_gateway, publish
from toolkit.providers import provider_requests

# persona -> share of leads
PERSONAS = {"cold_reader": 38, "evaluator": 22, "buyer": 8, "committee": 14, "privacy_bot": 6,
            "disqualified": 12}  # fmt: skip
FIRST = ["Lisa", "Raj", "Ana", "Tom", "Mei", "Omar", "Sara", "Jonas", "Priya", "Luis", "Emma",
         "Kenji", "Fatima", "Noah", "Ivy", "Marco"]  # fmt: skip
LAST = ["Chen", "Patel", "Ruiz", "Berg", "Wong", "Haddad", "Kowalski", "Meyer", "Iyer", "Silva",
        "Brown", "Sato", "Khan", "Dubois", "Novak", "Rossi"]  # fmt: skip
TITLES = ["Marketing Manager", "IT Manager", "Analyst", "Engineer", "Operations Manager",
          "Sales Manager", "Consultant", "Product Manager"]  # fmt: skip
SENIOR = ["VP Operations", "CTO", "Head of Sales", "Director of IT", "CFO", "VP Engineering"]
INDUSTRIES = ["software", "manufacturing", "Healthcare", "Financial Services", "retail",
              "education"]  # fmt: skip
COUNTRIES = ["US", "US", "CA", "GB", "DE", "FR", "NL", "BR", "MX", "AU", "JP", "IN"]
SIZES = [40, 150, 450, 1200, 3500, 8000]
REVENUES = [5e6, 3e7, 2e8, 6e8, 2e9]
THROWAWAY = ["mailinator.com", "guerrillamail.com", "yopmail.com", "10minutemail.com"]
BUYING_PHRASES = ["Can you send a quote for 50 seats?", "Budget approved for this quarter.",
                  "We need this live before fiscal year end.",
                  "Does it integrate with Salesforce? We roll out this quarter."]  # fmt: skip
PLAIN_REPLIES = ["Thanks, will read it.", "Not now, maybe next year.", "Who else uses this?"]

# persona -> [(weight, event kind)]; kinds below are expanded by `_event`.
BEHAVIOUR: dict[str, list[tuple[float, str]]] = {
    "cold_reader": [(40, "email.opened"), (25, "email.sent"), (15, "web:blog"),
                    (8, "form:content_download"), (6, "email.clicked"),
                    (3, "form:newsletter_signup"), (3, "email.unsubscribed")],
    "evaluator": [(20, "email.opened"), (16, "email.clicked"), (14, "web:product"),
                  (10, "web:feature"), (8, "web:case_study"), (7, "webinar.registered"),
                  (7, "webinar.attended"), (6, "form:case_study_download"), (5, "web:docs"),
                  (4, "web:pricing"), (3, "email.replied:plain")],
    "buyer": [(18, "web:pricing"), (12, "web:product"), (10, "email.clicked"),
              (6, "web:comparison"), (8, "email.replied:buying"), (6, "form:pricing_request"),
              (5, "form:demo_request"), (3, "form:trial_request"), (3, "form:contact_sales"),
              (4, "form:quote_request"), (6, "webinar.attended")],
    "committee": [(18, "web:product"), (14, "web:pricing"), (12, "email.clicked"),
                  (10, "webinar.attended"), (8, "web:case_study"), (6, "email.replied:buying"),
                  (6, "form:case_study_download"), (2, "form:demo_request")],
    "privacy_bot": [(100, "email.opened:burst")],
    "disqualified": [(30, "web:pricing"), (25, "form:content_download"), (20, "email.opened"),
                     (15, "email.clicked"), (10, "form:demo_request")],
}  # fmt: skip
DUPLICATE_SHARE = 0.01
MALFORMED_SHARE = 0.003


@dataclass(frozen=True)
class Lead:
    id: str
    persona: str
    profile: dict[str, Any]
    visitor_id: str | None  # browses anonymously first


def leads_of(n: int, accounts: int, seed: int) -> list[Lead]:
    """The simulated population: personas, profiles and accounts, from the seed."""
    rnd = random.Random(f"{seed}:population")
    names, weights = list(PERSONAS), list(PERSONAS.values())
    # A few accounts run buying committees: several senior people of one company.
    committees = max(1, accounts // 10)
    out = []
    for i in range(n):
        persona = rnd.choices(names, weights)[0]
        account = rnd.randrange(committees) if persona == "committee" else rnd.randrange(accounts)
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        domain = f"company{account}.example"
        title = rnd.choice(SENIOR if persona in ("committee", "buyer") else TITLES)
        if persona == "disqualified":
            if rnd.random() < 0.5:
                title = "Student"
                domain = "univ.example.edu"
            else:
                domain = rnd.choice(THROWAWAY)
        arnd = random.Random(f"{seed}:account:{account}")  # one firmographic per account
        profile = {
            "email": f"{first}.{last}.{i}@{domain}".lower(),
            "name": f"{first} {last}",
            "job_title": title,
            "company": f"Company {account}",
            "company_size": arnd.choice(SIZES),
            "industry": arnd.choice(INDUSTRIES),
            "annual_revenue": arnd.choice(REVENUES),
            "country": arnd.choice(COUNTRIES),
        }
        visitor = f"v-{seed}-{i}" if persona in ("evaluator", "buyer") else None
        out.append(Lead(f"lead-{i}", persona, profile, visitor))
    return out


def simulated_events(
    leads: int, accounts: int, seed: int, start_ms: int, rate: float
) -> Iterator[bytes]:
    """Endless events (JSON bytes, some malformed on purpose) at `rate` per second of
    event time from `start_ms`."""
    rnd = random.Random(f"{seed}:events")
    population = leads_of(leads, max(1, accounts), seed)
    # Buyers and committees are busier than cold readers.
    activity = [{"buyer": 3, "committee": 2, "evaluator": 2}.get(p.persona, 1) for p in population]
    introduced: set[str] = set()
    last: bytes | None = None
    i = 0
    while True:
        at = start_ms + int(i * 1000 / rate)
        roll = rnd.random()
        if last is not None and roll < DUPLICATE_SHARE:
            batch = [last]  # a duplicate delivery
        elif roll < DUPLICATE_SHARE + MALFORMED_SHARE:
            batch = [_malformed(rnd, i, seed, at)]
        else:
            lead = rnd.choices(population, activity)[0]
            behaviour = BEHAVIOUR[lead.persona]
            kind = rnd.choices([k for _, k in behaviour], [w for w, _ in behaviour])[0]
            first_time = lead.id not in introduced
            introduced.add(lead.id)
            batch = [orjson.dumps(e) for e in _event(rnd, lead, kind, f"sim-{seed}-{i}", at,
                                                     first_time)]  # fmt: skip
            last = batch[-1]
        yield from batch
        i += 1


def _event(rnd: random.Random, lead: Lead, kind: str, event_id: str, at: int,
           first_time: bool) -> Iterator[dict[str, Any]]:  # fmt: skip
    when = rfc3339_from_ms(at)
    who: dict[str, Any] = {"id": lead.id}
    if first_time or rnd.random() < 0.1:
        who.update(lead.profile)
    base = {"event_id": event_id, "occurred_at": when, "lead": who, "source": "simulator"}
    channel, _, detail = kind.partition(":")
    if channel == "web":
        event = {**base, "type": "web.page_viewed", "page_category": detail,
                 "url": f"https://www.example.com/{detail}",
                 "duration_seconds": rnd.choice([8, 25, 70, 140, 320])}  # fmt: skip
        if lead.visitor_id:
            event["visitor_id"] = lead.visitor_id
            if rnd.random() < 0.3:  # browsing before identifying: anonymous
                del event["lead"]
        yield event
    elif channel == "form":
        event = {**base, "type": "form.submitted", "form_kind": detail,
                 "form_id": f"f-{detail}"}  # fmt: skip
        if detail in ("demo_request", "contact_sales", "quote_request"):
            event["message"] = rnd.choice(BUYING_PHRASES)
            event["fields"] = {"budget": rnd.choice(["approved", "planned"]),
                               "timeline": "this quarter"}  # fmt: skip
        if lead.visitor_id:
            event["visitor_id"] = lead.visitor_id  # identifies the anonymous browsing
        yield event
    elif kind == "email.opened:burst":
        # A mail-privacy proxy opens every message at once, many times.
        for n in range(rnd.randrange(3, 8)):
            yield {**base, "event_id": f"{event_id}-{n}", "type": "email.opened",
                   "campaign_id": "c-weekly"}  # fmt: skip
    elif channel == "email.replied":
        body = rnd.choice(BUYING_PHRASES if detail == "buying" else PLAIN_REPLIES)
        yield {**base, "type": "email.replied", "campaign_id": "c-nurture", "body": body}
    elif channel.startswith("email."):
        yield {**base, "type": channel, "campaign_id": f"c-{rnd.randrange(8)}"}
    elif channel == "webinar.attended":
        yield {**base, "type": channel, "webinar_id": "w-1",
               "minutes_attended": rnd.randrange(10, 60)}  # fmt: skip
    else:
        yield {**base, "type": channel, "webinar_id": "w-1"}


def _malformed(rnd: random.Random, i: int, seed: int, at: int) -> bytes:
    """A message a broken producer might send: each kind is dead-lettered with its reason."""
    choice = rnd.randrange(4)
    if choice == 0:
        return b'{"event_id": "sim-broken", "type": "form.submitted", '  # truncated JSON
    event = {"event_id": f"sim-{seed}-{i}", "type": "email.opened",
             "occurred_at": rfc3339_from_ms(at), "lead": {"id": "lead-0"}}  # fmt: skip
    if choice == 1:
        return orjson.dumps({**event, "type": "email.teleported"})  # unknown type
    if choice == 2:
        return orjson.dumps({k: v for k, v in event.items() if k != "event_id"})
    return orjson.dumps({**event, "occurred_at": rfc3339_from_ms(at + 3_600_000)})  # future


def simulate_to_file(
    dst: IO[bytes], n: int, leads: int, accounts: int, seed: int, start_ms: int, rate: float
) -> None:
    """The first `n` simulated events as JSON lines."""
    for line in itertools.islice(simulated_events(leads, accounts, seed, start_ms, rate), n):
        dst.write(line + b"\n")


def publish_simulated(
    settings: Connections,
    leads: int,
    accounts: int,
    seed: int,
    start_ms: int,
    rate: float,
    count: int | None,
    duration: float | None,
    stopping: Callable[[], bool],
    gateway: str | None = None,
    gateway_token: str | None = None,
    providers: tuple[str, str] | None = None,
) -> Published:
    """Simulated events published at `rate`, until `count` events, `duration` seconds or
    `stopping()`: to Kafka, or through the gateway at `gateway` (its base URL), as the
    contract's events or, with `providers` (a Segment write key, a SendGrid signing key
    file), as those tools' payloads (toolkit/providers.py)."""
    events: Iterable[bytes] = simulated_events(leads, accounts, seed, start_ms, rate)
    if count is not None:
        events = itertools.islice(events, count)
    deadline = None if duration is None else time.monotonic() + duration

    def until() -> bool:
        return stopping() or (deadline is not None and time.monotonic() >= deadline)

    if gateway is not None:
        requests_of = None
        if providers is not None:
            emails = {lead.id: lead.profile["email"]
                      for lead in leads_of(leads, max(1, accounts), seed)}  # fmt: skip
            requests_of = provider_requests(emails, *providers, token=gateway_token)
        return asyncio.run(post_to_gateway(gateway, events, gateway_token, rate, until,
                                           requests_of=requests_of))  # fmt: skip
    return asyncio.run(publish(kafka_access(settings), events, settings.topic_prefix, rate,
                               until=until))  # fmt: skip
