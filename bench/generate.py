"""A synthetic events file for benchmarks: many leads and accounts, a realistic mix of events."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import orjson

from scoring import MS_PER_DAY, rfc3339_from_ms

START_MS = 1_788_220_800_000  # 2026-09-01T00:00:00Z

TITLES = ["VP Operations", "Director of IT", "IT Manager", "Analyst", "CEO", "Engineer",
          "Head of Sales", "Procurement Lead", "Student", "Founder"]  # fmt: skip
INDUSTRIES = [
    "software",
    "manufacturing",
    "Healthcare",
    "education",
    "retail",
    "Financial Services",
]
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "BR", "JP", "IN", "ZA", "AU"]
MESSAGES = ["", "Can you send a quote?", "Budget approved for this project.",
            "We need to solve this before fiscal year end.", "How long does deployment take?",
            "How are you different from Rivalsoft?", "Thanks, looks interesting.",
            "We're looking for a tool that integrates with Salesforce this quarter."]  # fmt: skip
# (type, weight)
MIX: list[tuple[str, float]] = [
    ("email.sent", 14), ("email.opened", 30), ("email.clicked", 11), ("email.replied", 3),
    ("email.bounced", 0.6), ("email.unsubscribed", 0.5), ("email.spam_reported", 0.1),
    ("web.page_viewed", 28), ("webinar.registered", 2.5), ("webinar.attended", 2),
    ("webinar.no_show", 0.6), ("form.submitted", 7.7),
]  # fmt: skip
FORMS = ["demo_request", "trial_request", "contact_sales", "pricing_request", "quote_request",
         "content_download", "case_study_download", "newsletter_signup", "other"]  # fmt: skip
FORM_WEIGHTS = [1, 0.7, 0.6, 1, 0.5, 3, 1.5, 2, 1]
PAGES = ["pricing", "product", "feature", "case_study", "comparison", "docs", "blog", "other"]
PAGE_WEIGHTS = [1.2, 3, 2, 1, 0.5, 2, 4, 1]


def profile(rnd: random.Random, lead: int, accounts: int) -> dict[str, object]:
    account = lead % accounts if accounts else 0
    free_mail = lead % 11 == 0 or not accounts  # no accounts: every lead on free mail
    domain = "gmail.com" if free_mail else f"acct{account}.example.com"
    r = random.Random(lead)  # a lead's profile is stable
    return {
        "id": f"lead-{lead}",
        "email": f"p{lead}@{domain}",
        "name": f"Person {lead}",
        "job_title": r.choice(TITLES),
        "company": f"Company {account}",
        "company_size": r.choice([20, 150, 400, 1200, 5000, 20000]),
        "industry": r.choice(INDUSTRIES),
        "annual_revenue": r.choice([2e6, 5e7, 4e8, 3e9]),
        "country": r.choice(COUNTRIES),
    }


def events(n: int, leads: int, accounts: int, days: int = 90, seed: int = 7,
           start_ms: int = START_MS) -> Iterator[bytes]:  # fmt: skip
    """n JSON events over `days`, mostly in time order, with 1% duplicate deliveries."""
    rnd = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    span = days * MS_PER_DAY
    last: bytes | None = None
    for i in range(n):
        if last is not None and rnd.random() < 0.01:
            yield last  # a duplicate delivery
            continue
        lead = rnd.randrange(leads)
        kind = rnd.choices(kinds, weights)[0]
        jitter = rnd.randrange(-60_000, 60_000)  # some arrive a little out of order
        at = start_ms + span * i // n + jitter
        lead_obj = profile(rnd, lead, accounts) if rnd.random() < 0.15 else {"id": f"lead-{lead}"}
        e: dict[str, object] = {
            "event_id": f"ev-{seed}-{i}",
            "type": kind,
            "occurred_at": rfc3339_from_ms(at - at % 1000),
            "lead": lead_obj,
            "source": "bench",
        }
        if kind.startswith("email.") and kind != "email.replied":
            e["campaign_id"] = f"c{rnd.randrange(50)}"
        if kind == "email.replied":
            e["body"] = rnd.choice(MESSAGES)
        elif kind == "email.bounced":
            e["bounce"] = rnd.choice(["hard", "soft", "soft"])
        elif kind == "web.page_viewed":
            e["page_category"] = rnd.choices(PAGES, PAGE_WEIGHTS)[0]
            e["url"] = f"https://example.com/{e['page_category']}"
            e["duration_seconds"] = rnd.choice([5, 30, 90, 150, 400])
        elif kind.startswith("webinar."):
            e["webinar_id"] = f"w{rnd.randrange(10)}"
            if kind == "webinar.attended":
                e["minutes_attended"] = rnd.randrange(5, 60)
        elif kind == "form.submitted":
            e["form_kind"] = rnd.choices(FORMS, FORM_WEIGHTS)[0]
            e["message"] = rnd.choice(MESSAGES)
            if rnd.random() < 0.3:
                e["fields"] = {
                    "budget": rnd.choice(["approved", "planned", "none"]),
                    "timeline": rnd.choice(["", "this quarter"]),
                    "uses_integrations": rnd.choice(["hubspot, sap", "oracle"]),
                }
        last = orjson.dumps(e)
        yield last


def events_file(n: int, leads: int, accounts: int, folder: Path) -> Path:
    """The generated file, made once and kept (bench/out is not committed)."""
    path = folder / f"events-{n}-{leads}-{accounts}.jsonl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for line in events(n, leads, accounts):
                f.write(line + b"\n")
        tmp.rename(path)
    return path
