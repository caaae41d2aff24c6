"""What every email provider's event shares: the lead named by the recipient's address, the
provider's event id, a Unix timestamp. Pure."""

from __future__ import annotations

from typing import Any

from scoring import rfc3339_from_ms

WITH_CAMPAIGN = {"email.sent", "email.opened", "email.clicked"}  # the types with campaign_id


def email_event(
    source: str, kind: str, email: Any, event_id: Any, at: Any, names: tuple[str, str]
) -> tuple[dict[str, Any] | None, str]:
    """The contract event's common part, or (None, what is missing); `names`: the provider's
    names of the address and the id, for the message."""
    if not isinstance(email, str) or not email.strip():
        return None, f"no {names[0]}"
    if not isinstance(event_id, str) or not event_id:
        return None, f"no {names[1]}"
    if not isinstance(at, int | float) or isinstance(at, bool):
        return None, "no Unix timestamp"
    return {
        "event_id": f"{source}:{event_id}", "type": kind,
        "occurred_at": rfc3339_from_ms(int(at * 1000)),
        "lead": {"id": email.strip().lower(), "email": email.strip()}, "source": source,
    }, ""  # fmt: skip
