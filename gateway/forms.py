"""Form submissions as `form.submitted`: what every form source shares (the contract fields a
form's answers fill, the lead's identity), and the generic form webhook: `POST
/v1/forms/<name>` with the answers as JSON or as an HTML form would post them, authenticated
by that form's token. Pure."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from gateway.bodies import Body, NotJson, Rejected
from gateway.sources import GenericForm

LEAD_FIELDS = {"email", "name", "job_title", "company", "country"}
FORM_FIELDS = {"budget", "timeline", "pain_point", "uses_integrations"}


def submitted(event_id: str, occurred_at: str, form_kind: str, filled: Mapping[str, Any],
              crm_id: Any, source: str) -> tuple[dict[str, Any] | None, str]:  # fmt: skip
    """The form.submitted of a form's answers (`filled`: contract target -> value), the lead
    by the CRM id when there is one, else the lowercased email; (None, why) without either."""
    email = filled.get("email")
    lead_id = crm_id if isinstance(crm_id, str) and crm_id else (
        email.strip().lower() if isinstance(email, str) and email.strip() else None)
    if lead_id is None:
        return None, "no lead: neither a CRM id nor an email answer"
    lead: dict[str, Any] = {"id": lead_id, **{k: v for k, v in filled.items()
                                              if k in LEAD_FIELDS}}  # fmt: skip
    event: dict[str, Any] = {"event_id": event_id, "type": "form.submitted",
                             "occurred_at": occurred_at, "form_kind": form_kind, "lead": lead,
                             "source": source}  # fmt: skip
    fields = {k: v for k, v in filled.items() if k in FORM_FIELDS}
    if fields:
        event["fields"] = fields
    if isinstance(filled.get("message"), str):
        event["message"] = filled["message"]
    return event, ""


def token_refusal(form: GenericForm, headers: Any, query: Any) -> str | None:
    """A generic form request bears its form's token (`Authorization: Bearer …` or
    `?token=…`, for form tools that can only set a URL)."""
    header = headers.get("Authorization", "")
    given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else query.get("token")
    ok = isinstance(given, str) and hmac.compare_digest(given.encode(), form.token.value.encode())
    return None if ok else "unauthorized"


def form_events(name: str, form: GenericForm, body: bytes, content_type: str,
                now: str) -> Body:  # fmt: skip
    """One submission. Its event_id is a digest of the form and the body: a sender's retry of
    the same submission is a repeat the worker drops (and so is the same answers sent twice)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            answers: Any = dict(parse_qsl(body.decode(), keep_blank_values=False))
        except UnicodeDecodeError:
            raise NotJson("the form body is not UTF-8") from None
    else:
        try:
            answers = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise NotJson("the body is neither JSON nor a form") from None
    if not isinstance(answers, dict):
        raise NotJson("the body is not an object of answers")
    filled: dict[str, Any] = {target: answers[field] for target, field in form.answers.items()
                              if field in answers}  # fmt: skip
    digest = hashlib.sha256(name.encode() + b"\0" + body).hexdigest()[:32]
    crm_id = answers.get(form.lead_id_field) if form.lead_id_field else None
    event, problem = submitted(f"form:{name}:{digest}", now, form.form_kind, filled, crm_id,
                               f"form:{name}")  # fmt: skip
    out = Body()
    if event is None:
        out.rejected.append(Rejected("invalid_event", problem, body))
    else:
        out.events.append((event, orjson.dumps(event)))
    return out
