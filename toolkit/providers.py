"""The simulator's events as the tools B2B teams run would send them to the gateway: email
events as SendGrid's signed Event Webhook, page views as Segment `page` calls, the rest (no
provider here sends them) as the contract's events. Every lead is named by its lowercased
email, as the gateway names the leads of email providers, so that one person is one lead
whichever tool reported them. The mapping is the gateway's read backwards (gateway/segment.py,
gateway/sendgrid.py)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from scoring import PageCategory, ms_from_rfc3339

# URL paths of the simulated site: what a sources file's `segment.pages` maps back.
SEGMENT_PAGES: dict[str, PageCategory] = {
    f"/{c}*": c for c in ("pricing", "product", "feature", "case_study", "comparison",
                          "roi_calculator", "integration", "docs", "blog", "careers")
}  # fmt: skip
SENDGRID_EVENTS = {"email.sent": "delivered", "email.opened": "open", "email.clicked": "click",
                   "email.bounced": "bounce", "email.unsubscribed": "unsubscribe",
                   "email.spam_reported": "spamreport"}  # fmt: skip
TRAITS = {"email": "email", "name": "name", "job_title": "title", "company": "company",
          "industry": "industry", "company_size": "employees"}  # fmt: skip

Request = tuple[str, bytes, dict[str, str]]  # path, body, headers


def sendgrid_keys(directory: Path) -> tuple[Path, str]:
    """A signing key pair as a SendGrid account has one: the private key (PEM, in
    `directory`, for the simulator) and the verification key (base64 DER, as SendGrid shows
    it, for the gateway's sources file)."""
    private = ec.generate_private_key(ec.SECP256R1())
    path = directory / "sendgrid-signing-key.pem"
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, base64.b64encode(public).decode()


def provider_requests(
    emails: dict[str, str], write_key: str, signing_key_file: str, token: str | None = None,
) -> Callable[[list[bytes]], list[Request]]:  # fmt: skip
    """What a window of simulated lines becomes: one SendGrid request (signed), one Segment
    batch and one contract NDJSON request, each only when it has something."""
    key = serialization.load_pem_private_key(Path(signing_key_file).read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    basic = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    contract_headers = {"Content-Type": "application/x-ndjson"}
    if token:
        contract_headers["Authorization"] = f"Bearer {token}"

    def requests(window: list[bytes]) -> list[Request]:
        sendgrid: list[dict[str, Any]] = []
        segment: list[dict[str, Any]] = []
        contract: list[bytes] = []
        for line in window:
            where, item = as_provider(line, emails)
            if where == "sendgrid":
                sendgrid.append(item)
            elif where == "segment":
                segment.append(item)
            else:
                contract.append(item)
        out: list[Request] = []
        if sendgrid:
            body, at = orjson.dumps(sendgrid), str(int(time.time()))
            signature = key.sign(at.encode() + body, ec.ECDSA(hashes.SHA256()))
            out.append(("/v1/sendgrid/events", body, {
                "Content-Type": "application/json",
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": at}))  # fmt: skip
        if segment:
            out.append(("/v1/batch", orjson.dumps({"batch": segment}),
                        {"Content-Type": "application/json", "Authorization": basic}))
        if contract:
            out.append(("/v1/events", b"\n".join(contract), contract_headers))
        return out

    return requests


def as_provider(line: bytes, emails: dict[str, str]) -> tuple[str, Any]:
    """("sendgrid", an event of SendGrid's), ("segment", a page call), or ("events", the
    contract line, its lead named by email); what is not an event goes on as it is."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "events", line
    if not isinstance(event, dict):
        return "events", line
    lead = event.get("lead") if isinstance(event.get("lead"), dict) else None
    email = emails.get(lead.get("id", "")) if lead is not None else None
    kind = event.get("type")
    if email is not None and kind in SENDGRID_EVENTS and isinstance(event.get("occurred_at"), str):
        item: dict[str, Any] = {"email": email, "event": SENDGRID_EVENTS[kind],
                                "timestamp": ms_from_rfc3339(event["occurred_at"]) // 1000,
                                "sg_event_id": event.get("event_id")}  # fmt: skip
        if event.get("campaign_id"):
            item["category"] = event["campaign_id"]
        if kind == "email.clicked":
            item["url"] = event.get("url") or "https://www.example.com/"
        if kind == "email.bounced":
            item["type"] = "blocked" if event.get("bounce") == "soft" else "bounce"
        return "sendgrid", item
    if kind == "web.page_viewed":
        call: dict[str, Any] = {"type": "page", "messageId": event.get("event_id"),
                                "timestamp": event.get("occurred_at"),
                                "properties": {"url": event.get("url"),
                                               "path": f"/{event.get('page_category')}"}}
        if event.get("visitor_id"):
            call["anonymousId"] = event["visitor_id"]
        if email is not None and lead is not None:
            traits = {TRAITS[k]: v for k, v in lead.items() if k in TRAITS}
            call["context"] = {"traits": {**traits, "email": email}}
        return "segment", call
    if email is not None and lead is not None:
        event["lead"] = {**lead, "id": email}
    return "events", orjson.dumps(event)
