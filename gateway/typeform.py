"""Typeform's webhooks (https://www.typeform.com/developers/webhooks/) as `form.submitted`.
Signed: `Typeform-Signature: sha256=<base64 of the HMAC-SHA256 of the body, under the
webhook's secret>` (the standard library's hmac; Typeform ships no Python verifier). The
mapping is pure: the sources file names each form's form_kind and which answers fill which
contract fields; a form it does not name is ignored (counted)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from gateway.bodies import Body, NotJson, Rejected
from gateway.forms import submitted
from gateway.sources import Typeform, TypeformForm


class TypeformVerifier:
    def __init__(self, config: Typeform) -> None:
        self.secret = config.secret.value.encode()

    def refusal(self, headers: Any, body: bytes) -> str | None:
        """Why a request is not Typeform's (missing, invalid), or None. Typeform signs no
        timestamp, so a replay cannot be told by age: it repeats the response's token, which
        is its event_id, and the worker drops the repeat."""
        given = headers.get("Typeform-Signature")
        if not given or not given.startswith("sha256="):
            return "missing"
        digest = hmac.new(self.secret, body, hashlib.sha256).digest()
        expected = "sha256=" + base64.b64encode(digest).decode()
        return None if hmac.compare_digest(expected, given) else "invalid"


def typeform_events(body: bytes, config: Typeform) -> Body:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotJson("the body is not JSON") from None
    response = parsed.get("form_response") if isinstance(parsed, dict) else None
    if not isinstance(response, dict):
        raise NotJson("the body has no form_response object")
    out = Body()
    form = config.forms.get(str(response.get("form_id")))
    if form is None:
        out.ignored["unmapped_form"] = 1
        return out
    event, problem = _event(response, form, config.lead_id_hidden)
    if event is None:
        out.rejected.append(Rejected("invalid_event", problem, orjson.dumps(response)))
    else:
        out.events.append((event, orjson.dumps(event)))
    return out


def _event(response: dict[str, Any], form: TypeformForm,
           lead_id_hidden: str | None) -> tuple[dict[str, Any] | None, str]:  # fmt: skip
    token, at = response.get("token"), response.get("submitted_at")
    if not isinstance(token, str) or not token:
        return None, "no token"
    if not isinstance(at, str):
        return None, "no submitted_at"
    answers: dict[str, Any] = {}
    for answer in response.get("answers") or []:
        if isinstance(answer, dict) and isinstance(answer.get("field"), dict):
            value = _value(answer)
            for name in (answer["field"].get("ref"), answer["field"].get("id")):
                if isinstance(name, str) and value is not None:
                    answers[name] = value
    filled: dict[str, Any] = {target: answers[source] for target, source in form.answers.items()
              if source in answers}  # fmt: skip
    hidden = response.get("hidden")
    crm_id = hidden.get(lead_id_hidden) if lead_id_hidden and isinstance(hidden, dict) else None
    return submitted(f"typeform:{token}", at, form.form_kind, filled, crm_id, "typeform")


def _value(answer: dict[str, Any]) -> Any:
    """An answer's value, by its type (text, email, number, boolean, choice, choices, …)."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        return [str(v) for v in value.get("labels") or []]
    return value
