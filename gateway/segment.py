"""Segment's calls (https://segment.com/docs/connections/spec/) as the contract's events. Pure.

`page` → web.page_viewed (page_category from the sources file's URL patterns); `track` → the
event its name maps to; `identify` → web.identified (the profile, and the visitor's link, at
0 points: a contract addition); identity: the lead is `userId` (a CRM id), else the lowercased
email of the call's traits; `anonymousId` is the `visitor_id`, so anonymous page views are
held and credited once a call names both. `event_id` is `segment:<messageId>`: Segment's
retries repeat the messageId, and the worker drops the repeat."""

from __future__ import annotations

import fnmatch
from typing import Any
from urllib.parse import urlsplit

import orjson

from gateway.bodies import Body, NotJson, Rejected
from gateway.sources import Segment

# Segment trait -> contract lead field.
TRAITS = {"email": "email", "name": "name", "title": "job_title", "industry": "industry",
          "employees": "company_size"}  # fmt: skip


class Unmappable(ValueError):
    """A call that cannot become an event (dead-lettered as invalid_event with this detail)."""


def calls_of_body(body: bytes, segment: Segment, now: str) -> Body:
    """The events of a request to /v1/{page,track,identify,batch,…}: one call, or a batch."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotJson("the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise NotJson("the body is not a JSON object")
    calls = parsed.get("batch") if "batch" in parsed else [parsed]
    if not isinstance(calls, list):
        raise NotJson("batch is not a list")
    out = Body()
    for n, call in enumerate(calls, 1):
        raw = orjson.dumps(call)
        try:
            event = contract_event(call, segment, now)
        except Unmappable as e:
            out.rejected.append(Rejected("invalid_event", f"call {n}: {e}", raw))
            continue
        if isinstance(event, str):
            out.ignored[event] = out.ignored.get(event, 0) + 1
        else:
            out.events.append((event, orjson.dumps(event)))
    return out


def contract_event(call: Any, segment: Segment, now: str) -> dict[str, Any] | str:
    """The contract event of one call, or why it is ignored (a valid call scoring has no use
    for); Unmappable when it cannot be either."""
    if not isinstance(call, dict):
        raise Unmappable("not a JSON object")
    kind = call.get("type")
    message_id = call.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise Unmappable("no messageId")
    if kind == "track":
        name = call.get("event")
        mapping = segment.events.get(name) if isinstance(name, str) else None
        if mapping is None:
            return "unmapped_event"
        event: dict[str, Any] = {"type": mapping.type}
        if mapping.form_kind is not None:
            event["form_kind"] = mapping.form_kind
        properties = _mapping(call.get("properties"))
        event.update({f: properties[p] for f, p in mapping.properties.items() if p in properties})
    elif kind == "page":
        properties = _mapping(call.get("properties"))
        page = _mapping(_mapping(call.get("context")).get("page"))
        url = properties.get("url") or page.get("url")
        path = properties.get("path") or page.get("path") or (urlsplit(url).path if
                                                              isinstance(url, str) else "")
        event = {"type": "web.page_viewed", "page_category": _category(str(path), segment)}
        if isinstance(url, str):
            event["url"] = url
    elif kind == "identify":
        if _lead(call) is None:
            return "anonymous_identify"  # traits without a userId or email: nobody to name
        event = {"type": "web.identified"}
    else:
        return f"{kind}_call" if isinstance(kind, str) else "no_type"
    lead = _lead(call)
    visitor = call.get("anonymousId")
    if lead is not None:
        event["lead"] = lead
    if isinstance(visitor, str) and visitor:
        event["visitor_id"] = visitor
    if lead is None and (event["type"] != "web.page_viewed" or "visitor_id" not in event):
        raise Unmappable(f"{event['type']} needs a userId or an email (anonymousId alone "
                         "identifies only page views)")  # fmt: skip
    occurred = call.get("timestamp") or call.get("originalTimestamp") or call.get("sentAt")
    return {"event_id": f"segment:{message_id}", "occurred_at": occurred or now, **event,
            "source": "segment"}  # fmt: skip


def _lead(call: dict[str, Any]) -> dict[str, Any] | None:
    traits = {**_mapping(_mapping(call.get("context")).get("traits")),
              **_mapping(call.get("traits"))}  # fmt: skip
    user = call.get("userId")
    email = traits.get("email")
    lead_id = user if isinstance(user, str) and user else (
        email.strip().lower() if isinstance(email, str) and email.strip() else None)
    if lead_id is None:
        return None
    lead: dict[str, Any] = {"id": lead_id}
    for trait, name in TRAITS.items():
        if traits.get(trait) not in (None, ""):
            lead[name] = traits[trait]
    if "name" not in lead and (traits.get("firstName") or traits.get("lastName")):
        lead["name"] = " ".join(str(traits[k]) for k in ("firstName", "lastName")
                                if traits.get(k))  # fmt: skip
    company = traits.get("company")
    company_name = company.get("name") if isinstance(company, dict) else company
    if isinstance(company_name, str) and company_name:
        lead["company"] = company_name
    return lead


def _category(path: str, segment: Segment) -> str:
    for pattern, category in segment.pages.items():
        if fnmatch.fnmatchcase(path, pattern):
            return category
    return "other"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
